"""Socket.IO signaling: the ``/console`` namespace and the notifier that pushes to it."""
