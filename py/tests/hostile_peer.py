"""A hostile-peer kit for the Python tests: a scripted RTSP server (with its RTP sender,
interleaved on the same TCP connection) that misbehaves on purpose, one way per name. The same
misbehaviours as libifc/tests/support/hostile_peer.rs. Each peer serves one connection on
127.0.0.1 and keeps misbehaving until the client goes away, it is stopped, or 60 s pass."""

import socket
import struct
import threading
import time

HUGE_SPS_B64 = "Z0IAKNoAEHwAg/k="  # Baseline SPS declaring 16880 x 16880 pictures
HUGE_PPS_B64 = "aM48gA=="
IDR_SLICE = bytes([0x65, 0x88, 0x84, 0xFF, 0xFF, 0xFF])
REAL_SPROP = "Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw,aOvjyyA="

MISBEHAVIOURS = (
    "slow_loris",  # OPTIONS answered one byte every 50 ms, never complete
    "endless_empty_frames",  # zero-length interleaved frames instead of the DESCRIBE answer
    "lying_content_length",  # Content-Length 4000, 100 bytes sent, then a byte every 50 ms
    "cseq_mismatch",  # every answer carries another CSeq, one every 50 ms
    "absurd_sdp_size",  # a 2 MiB DESCRIBE body
    "huge_picture_parameter_sets",  # sprop SPS declaring 16880 x 16880; an IDR every 40 ms
    "never_a_picture",  # plays, then RTCP and picture fragments that never complete
)


def frame(channel: int, payload: bytes) -> bytes:
    return b"$" + bytes([channel]) + struct.pack(">H", len(payload)) + payload


class _Gone(Exception):
    pass


class HostilePeer:
    def __init__(self, misbehaviour: str):
        assert misbehaviour in MISBEHAVIOURS, misbehaviour
        self.misbehaviour = misbehaviour
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        self.port = self._listener.getsockname()[1]
        self.sent = 0
        self._stop = threading.Event()
        self._until = time.monotonic() + 60
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam"

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # The script.
    def _serve(self):
        self._listener.settimeout(1)
        while not self._stop.is_set():
            try:
                self._conn, _ = self._listener.accept()
                break
            except socket.timeout:
                continue
        else:
            return
        self._conn.settimeout(0.1)
        try:
            getattr(self, "_" + self.misbehaviour)()
        except (_Gone, OSError):
            pass
        finally:
            self._conn.close()

    def _send(self, data: bytes):
        if self._stop.is_set() or time.monotonic() > self._until:
            raise _Gone
        self._conn.sendall(data)
        self.sent += len(data)

    def _request(self) -> str:
        text = b""
        while not text.endswith(b"\r\n\r\n"):
            if self._stop.is_set() or time.monotonic() > self._until:
                raise _Gone
            try:
                byte = self._conn.recv(1)
            except socket.timeout:
                continue
            if not byte:
                raise _Gone
            text += byte
        for line in text.decode("latin-1").split("\r\n"):
            if line.startswith("CSeq: "):
                return line[6:].strip()
        return "0"

    def _answer(self, cseq: str, headers: str = "", body: str = ""):
        length = f"Content-Length: {len(body)}\r\n" if body else ""
        self._send(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{headers}{length}\r\n{body}".encode())

    def _sdp(self, sprop: str) -> str:
        return (f"v=0\r\ns=hostile\r\nt=0 0\r\na=control:rtsp://127.0.0.1:{self.port}/cam\r\n"
                "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\n"
                f"a=control:rtsp://127.0.0.1:{self.port}/cam/track1\r\n")

    def _handshake(self, sprop: str):
        self._answer(self._request(), "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n")
        self._answer(self._request(), "Content-Type: application/sdp\r\n", self._sdp(sprop))
        self._answer(self._request(),
                     "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: hostile;timeout=60\r\n")
        self._answer(self._request(), "Session: hostile\r\n")

    def _rtp(self, seq: int, timestamp: int, marker: bool, payload: bytes):
        header = struct.pack(">BBHII", 0x80, 96 | (0x80 if marker else 0), seq & 0xFFFF,
                             timestamp & 0xFFFFFFFF, 0x12345678)
        self._send(frame(0, header + payload))

    def _slow_loris(self):
        cseq = self._request()
        for b in f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nPublic: OPTIONS\r\nX-Padding: ".encode():
            self._send(bytes([b]))
            time.sleep(0.05)
        while True:
            self._send(b"a")
            time.sleep(0.05)

    def _endless_empty_frames(self):
        self._answer(self._request(), "Public: OPTIONS, DESCRIBE\r\n")
        self._request()
        burst = frame(0, b"") * 256
        while True:
            self._send(burst)

    def _lying_content_length(self):
        self._answer(self._request(), "Public: OPTIONS, DESCRIBE\r\n")
        cseq = self._request()
        sdp = self._sdp(REAL_SPROP)
        self._send(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: 4000\r\n\r\n{sdp[:100]}".encode())
        while True:
            self._send(b" ")
            time.sleep(0.05)

    def _cseq_mismatch(self):
        other = int(self._request() or 0) + 100
        while True:
            self._answer(str(other), "Public: OPTIONS, DESCRIBE\r\n")
            other += 1
            time.sleep(0.05)

    def _absurd_sdp_size(self):
        self._answer(self._request(), "Public: OPTIONS, DESCRIBE\r\n")
        cseq = self._request()
        self._send(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nContent-Length: {2 << 20}\r\n\r\nv=0\r\n".encode())
        filler = b"a=x-padding:0123456789abcdef0123456789abcdef\r\n" * 64
        while True:
            self._send(filler)

    def _huge_picture_parameter_sets(self):
        self._handshake(f"{HUGE_SPS_B64},{HUGE_PPS_B64}")
        seq = 0
        while True:
            self._rtp(seq, 3600 * seq, True, IDR_SLICE)
            seq += 1
            time.sleep(0.04)

    def _never_a_picture(self):
        self._handshake(REAL_SPROP)
        rtcp = bytes([0x80, 200, 0, 6, 0x12, 0x34, 0x56, 0x78]) + bytes(20)
        seq = 0
        while True:
            self._send(frame(1, rtcp))
            self._rtp(seq, 3600 * seq, False, bytes([0x7C, 0x85, 0x88, 0x84]))
            seq += 1
            time.sleep(0.01)
