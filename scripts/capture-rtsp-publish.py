#!/usr/bin/env python3
# Records what an RTSP publisher sends (testdata/rtsp/): accepts one connection on 127.0.0.1:PORT,
# answers every request with 200 (SETUP echoes the Transport, adding server_port for UDP),
# challenges with a fixed Digest nonce when a third argument is given, stops after RECORD.
# Usage: capture-rtsp-publish.py PORT OUT [auth], then point ffmpeg/rtspclientsink at it.
import socket, sys, re, time
port=int(sys.argv[1]); out=sys.argv[2]; need_auth=len(sys.argv)>3
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR,1); s.bind(('127.0.0.1',port)); s.listen(1)
c,_=s.accept(); c.settimeout(5)
buf=b''; log=open(out,'wb'); authed=not need_auth; n=0
def reply(extra):
    c.sendall(extra.encode())
try:
  while True:
    while b'\r\n\r\n' not in buf:
        d=c.recv(65536)
        if not d: raise SystemExit
        buf+=d
        if buf.startswith(b'$'): raise SystemExit
    head,rest=buf.split(b'\r\n\r\n',1)
    m=re.search(rb'Content-Length:\s*(\d+)',head,re.I)
    bl=int(m.group(1)) if m else 0
    while len(rest)<bl:
        rest+=c.recv(65536)
    body=rest[:bl]; buf=rest[bl:]
    msg=head+b'\r\n\r\n'+body
    log.write(msg); log.flush(); n+=1
    cseq=re.search(rb'CSeq:\s*(\d+)',head,re.I).group(1).decode()
    method=head.split(b' ')[0].decode()
    if not authed and b'Authorization' not in head and method!='OPTIONS':
        reply(f'RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: Digest realm="ifc", nonce="0123456789abcdef"\r\n\r\n'); continue
    h=f'RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n'
    if method=='OPTIONS': h+='Public: OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN, GET_PARAMETER, SET_PARAMETER\r\n'
    if method=='SETUP':
        t=re.search(rb'Transport:\s*([^\r\n]*)',head,re.I).group(1).decode()
        if 'client_port' in t: t+=';server_port=50000-50001'
        h+=f'Transport: {t}\r\nSession: 12345678;timeout=60\r\n'
    elif method in('RECORD','TEARDOWN'): h+='Session: 12345678\r\n'
    reply(h+'\r\n')
    if method=='RECORD':
        time.sleep(0.3); break
finally:
  log.close()
