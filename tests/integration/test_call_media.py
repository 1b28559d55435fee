"""Real media through real signaling: two aiortc peers — the inspector with a staff session,
the contact with the invite — negotiate only through the /call namespace of the running
app, then receive each other's video and audio.

aiortc gathers its candidates before ``setLocalDescription`` returns, so the descriptions
carry them (no trickle); the contact is polite and answers, as in the browser.
"""

from __future__ import annotations

from tests.plugins.calls import CallKit

FRAMES = 15  # half a second of 30 fps video
AUDIO_FRAMES = 10  # 200 ms of 20 ms audio frames
MEDIA_WAIT = 20.0


async def test_inspector_and_contact_see_and_hear_each_other(call_server, calls: CallKit):
    call = await calls.open_call(call_server.url)
    inspector, _, contact, contact_ack = await calls.joined_pair(call)
    inspector_peer = calls.peer(inspector)
    contact_peer = calls.peer(contact)

    await inspector_peer.offer_to(contact_ack["participant_id"])  # the impolite side offers

    for peer in (inspector_peer, contact_peer):
        video = await peer.frames("video", FRAMES, MEDIA_WAIT)
        assert [(f.width, f.height) for f in video] == [(320, 240)] * FRAMES
        assert len({f.pts for f in video}) == FRAMES  # moving video, not one frame repeated
        audio = await peer.frames("audio", AUDIO_FRAMES, MEDIA_WAIT)
        assert all(f.sample_rate == 48000 and f.samples > 0 for f in audio)
    assert inspector_peer.pc.connectionState == "connected"
    assert contact_peer.pc.connectionState == "connected"


async def test_media_resumes_after_the_contact_rejoins(call_server, calls: CallKit):
    """The phone's socket drops and comes back (same device, same participant): a fresh
    negotiation through the server brings the picture back."""
    call = await calls.open_call(call_server.url)
    inspector, _, contact, contact_ack = await calls.joined_pair(call)
    them = contact_ack["participant_id"]
    assert (await inspector.next("peer_joined"))["resumed"] is False
    first = calls.peer(contact)
    inspector_peer = calls.peer(inspector)
    await inspector_peer.offer_to(them)
    await first.frames("video", 5, MEDIA_WAIT)

    await first.close()
    await contact.close()
    assert await inspector.next("peer_reconnecting") == {"participant_id": them}
    await inspector_peer.close()

    again = await calls.contact_socket(call.url, call.token, "phone-1")
    ack = await again.call("join_call")
    assert (ack["participant_id"], ack["resumed"]) == (them, True)
    assert (await inspector.next("peer_joined"))["resumed"] is True
    contact_peer = calls.peer(again)
    renewed = calls.peer(inspector)
    await renewed.offer_to(them)
    for peer in (renewed, contact_peer):
        frames = await peer.frames("video", 5, MEDIA_WAIT)
        assert frames[-1].width == 320
