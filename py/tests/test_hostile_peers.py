"""`ifc.VideoDecoder("rtsp://...")` against peers that misbehave on purpose (hostile_peer.py):
each misbehaviour is a typed ifc error within its deadline, never a hang, and Ctrl-C
interrupts a wait for a camera."""

import os
import signal
import threading
import time

import pytest

import ifc
from hostile_peer import HostilePeer

# timeout=1: each exchange, the silence and the first picture; generous for loaded machines.
WITHIN_S = 4.0


@pytest.mark.parametrize("misbehaviour, error, says", [
    ("slow_loris", ifc.SourceError, "OPTIONS"),
    ("endless_empty_frames", ifc.UnsupportedError, "frames"),
    ("lying_content_length", ifc.SourceError, "DESCRIBE"),
    ("cseq_mismatch", ifc.SourceError, "OPTIONS"),
    ("absurd_sdp_size", ifc.SourceError, "content_length"),
    ("never_a_picture", ifc.SourceError, "picture"),
    ("huge_picture_parameter_sets", ifc.DecodeError, "16880x16880"),
])
def test_each_misbehaviour_is_a_typed_error_within_its_deadline(misbehaviour, error, says):
    with HostilePeer(misbehaviour) as peer:
        started = time.monotonic()
        with pytest.raises(error, match=says):
            ifc.VideoDecoder(peer.url(), timeout=1.0)
        elapsed = time.monotonic() - started
    assert elapsed < WITHIN_S, f"{misbehaviour}: {elapsed:.1f} s"


def test_ctrl_c_interrupts_the_wait_for_a_picture():
    # A long timeout: only the signal can end the wait in time.
    with HostilePeer("never_a_picture") as peer:
        timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                ifc.VideoDecoder(peer.url(), timeout=30.0)
        finally:
            timer.cancel()
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, f"{elapsed:.1f} s"
