"""Socket.IO signaling: ``/console`` pushes to bank users, ``/call`` relays remote-inspection
calls (see README.md)."""
