"""A node's call bookkeeping, without IO: slots by socket, the replaced socket, the cache of
participants per session and when it is forgotten."""

from __future__ import annotations

from signaling.rooms import CallRooms, Slot, call_room, participant_room


def slot(participant_id: int, session_id: int = 1, generation: int = 1) -> Slot:
    return Slot(participant_id, generation, session_id, "contact", f"p{participant_id}")


def test_room_names():
    assert (call_room(5), participant_room(9)) == ("call:5", "participant:9")


def test_a_rejoin_on_the_same_node_names_the_socket_it_replaces():
    rooms = CallRooms()
    assert rooms.bind("a", slot(7)) == []
    assert rooms.bind("b", slot(7, generation=2)) == ["a"]
    assert rooms.release("a") == slot(7)
    assert rooms.slot("b") == slot(7, generation=2)
    assert rooms.bind("b", slot(7, generation=3)) == []  # rebinding itself replaces nothing


def test_members_are_known_while_a_local_socket_is_in_the_session():
    rooms = CallRooms()
    rooms.learn(1, [3, 4])  # nobody here is in session 1 yet: nothing to cache
    assert not rooms.knows(1, 3)
    rooms.bind("a", slot(3))
    rooms.learn(1, [3, 4])
    assert rooms.knows(1, 4) and not rooms.knows(2, 4)
    assert rooms.sids_in(1) == ["a"]
    rooms.bind("b", slot(9, session_id=2))
    assert rooms.release("a") == slot(3)
    assert not rooms.knows(1, 4)  # forgotten with its last socket
    assert rooms.sids_in(1) == [] and len(rooms) == 1
    assert rooms.release("a") is None


def test_a_late_bind_of_an_older_generation_is_refused_and_changes_nothing():
    rooms = CallRooms()
    assert rooms.bind("new", slot(7, generation=3)) == []
    assert rooms.bind("old", slot(7, generation=2)) is None
    assert rooms.slot("old") is None and rooms.slot("new") == slot(7, generation=3)
    assert rooms.sids_in(1) == ["new"] and len(rooms) == 1
    assert rooms.bind("newest", slot(7, generation=4)) == ["new"]  # a newer one replaces
