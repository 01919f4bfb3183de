"""yktest: shared helpers of the YakirOS Step-11 test services (python3 stdlib only).

Installed next to the services in /usr/lib/yakiros-tests/bin/ and imported from
there (a script's own directory is always on sys.path, also with python3 -S).

Run-time files of service NAME live in /run/yakiros-tests/NAME/ (created at
start, never baked into the image):
  ready      key=value lines (pid=, service=, started=, ready_at=, ...),
             written atomically (rename) only once the service really serves;
             removed as soon as SIGTERM/SIGINT/SIGUSR1 arrives if it still names
             this process; a file left by a dead instance is removed at start
  pid        the pid of the current instance, written at start
  unhealthy  control file owned by the tests: while it exists the component's
             health_check fails (the services never create or delete it)
  events     append-only log, one line per event: "EPOCH.mmm pid=N text"

Signals (every python service):
  SIGTERM, SIGINT  clean exit, status 0
  SIGUSR1          YakirOS hot-swap request: pass the listening socket (and, for
                   the echo server, every open connection) over the handoff
                   channel (fd 4) if this instance has one, then exit 0

Handoff channel: an AF_UNIX stream socket on fd 4 that YakirOS gave this
instance. An instance started for an upgrade also has HANDOFF_FD set: it first
receives its predecessor's sockets (SCM_RIGHTS) there and answers
HANDOFF_COMPLETE. The published YakirOS gives a channel only to the instance it
starts for an upgrade, so the first instance has nothing to pass its sockets on.
  SIGHUP           ignored
"""

import errno
import os
import selectors
import signal
import socket
import stat
import sys
import time

RUN_ROOT = "/run/yakiros-tests"

# Fixed ports of the test services (Step-11: echo 8080, stateful 8081; the
# Step-11 VM forwards 9000 too, which the health demo uses).
PORTS = {
    "test-echo-server": 8080,
    "test-stateful-service": 8081,
    "test-health-demo": 9000,
}

HANDOFF_FD = 4                     # where YakirOS dup2()s the handoff socket
HANDOFF_COMPLETE = b"HANDOFF_COMPLETE\n"
HANDOFF_RECV_TIMEOUT = 3.0         # wait this long for SCM_RIGHTS on fd 4
BIND_RETRY_SECONDS = 15.0          # EADDRINUSE retries while a predecessor exits


def visible_pid():
    """This process's pid as /proc names it. /proc is the root PID namespace's
    mount, so this is the pid YakirOS and the tests see, also when the service
    runs in its own PID namespace (where os.getpid() is 1)."""
    try:
        return int(os.readlink("/proc/self"))
    except (OSError, ValueError):
        return os.getpid()


def wall():
    return time.time()


def read_kv(path):
    """key=value lines of PATH as a dict ({} if unreadable)."""
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, sep, v = line.rstrip("\n").partition("=")
                if sep:
                    out[k] = v
    except OSError:
        pass
    return out


def write_kv(path, items):
    """Write [(key, value), ...] as key=value lines, atomically (rename)."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        for k, v in items:
            f.write("%s=%s\n" % (k, v))
    os.rename(tmp, path)


def pid_alive(pid):
    """True if PID exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except (OSError, ValueError):
        return False
    fields = data.rsplit(")", 1)[-1].split()
    return bool(fields) and fields[0] not in ("Z", "X")


def pid_is_instance(pid, script):
    """True if PID is alive and runs SCRIPT (a basename) as a program or script."""
    if pid <= 0 or pid in (os.getpid(), visible_pid()) or not pid_alive(pid):
        return False
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    want = script.encode()
    return any(a == want or a.endswith(b"/" + want) for a in argv[:3])


def _int(s, default=0):
    try:
        return int(s)
    except (TypeError, ValueError):
        return default


def port_arg(argv, default):
    """--port=N or --port N from ARGV, else DEFAULT."""
    for i, a in enumerate(argv):
        if a.startswith("--port="):
            return int(a.split("=", 1)[1])
        if a == "--port" and i + 1 < len(argv):
            return int(argv[i + 1])
    return default


class Service:
    """Run-time files, signals and the handoff channel of one test service."""

    def __init__(self, name, script=None):
        self.name = name
        self.script = script or os.path.basename(sys.argv[0])
        self.pid = visible_pid()
        self.started = wall()
        self.dir = os.path.join(RUN_ROOT, name)
        os.makedirs(self.dir, exist_ok=True)
        self.ready_path = os.path.join(self.dir, "ready")
        self.pid_path = os.path.join(self.dir, "pid")
        self.unhealthy_path = os.path.join(self.dir, "unhealthy")
        self.events_path = os.path.join(self.dir, "events")
        self.stop_reason = None          # "SIGTERM" | "SIGINT" | "SIGUSR1"
        self.replaced_pid = 0

        # Self-pipe: a signal makes the selector return at once.
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(self.wake_w, False)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGUSR1, self._on_signal)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)

        self.handoff_env = os.environ.get("HANDOFF_FD")
        self.upgrade = self.handoff_env is not None   # started by YakirOS to replace an instance
        self.handoff_chan = self._handoff_channel()
        self.event("start argv=%s HANDOFF_FD=%s channel=%s" % (
            " ".join(sys.argv[1:]) or "-", self.handoff_env or "-",
            "fd%d" % self.handoff_chan.fileno() if self.handoff_chan else "none"))
        if not self.upgrade:
            self._take_over()
        self._clear_stale_ready()
        write_kv(self.pid_path, [("pid", self.pid)])

    # -- files -------------------------------------------------------------
    def event(self, text):
        line = "%.3f pid=%d %s\n" % (wall(), self.pid, text)
        try:
            fd = os.open(self.events_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
            finally:
                os.close(fd)
        except OSError:
            pass
        try:
            sys.stdout.write("%s: %s" % (self.name, line))
        except (OSError, ValueError):
            pass

    def unhealthy(self):
        return os.path.exists(self.unhealthy_path)

    def mark_ready(self, items=()):
        write_kv(self.ready_path, [("pid", self.pid), ("service", self.name),
                                   ("started", "%.3f" % self.started),
                                   ("ready_at", "%.3f" % wall())] + list(items))
        self.event("ready " + " ".join("%s=%s" % kv for kv in items))

    def _remove_if_mine(self, path):
        if _int(read_kv(path).get("pid")) == self.pid:
            try:
                os.unlink(path)
            except OSError:
                pass

    def cleanup(self):
        self._remove_if_mine(self.ready_path)
        self._remove_if_mine(self.pid_path)

    def _clear_stale_ready(self):
        """A ready file whose pid is not a live instance of this service is stale."""
        pid = _int(read_kv(self.ready_path).get("pid"))
        if os.path.exists(self.ready_path) and not pid_is_instance(pid, self.script):
            try:
                os.unlink(self.ready_path)
                self.event("removed stale ready file (pid=%s)" % (pid or "?"))
            except OSError:
                pass

    def _take_over(self):
        """YakirOS can start a component again while the old process still runs
        (dependency loss marks it FAILED but does not stop it). Stop that old
        instance so there is only ever one; recorded as 'takeover' in events."""
        old = _int(read_kv(self.pid_path).get("pid"))
        if not pid_is_instance(old, self.script):
            return
        self.replaced_pid = old
        self.event("takeover: SIGTERM to the previous instance pid=%d" % old)
        try:
            os.kill(old, signal.SIGTERM)
        except OSError:
            return
        deadline = time.monotonic() + 5.0
        while pid_alive(old) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(old):
            self.event("takeover: SIGKILL to pid=%d" % old)
            try:
                os.kill(old, signal.SIGKILL)
            except OSError:
                pass

    # -- signals -----------------------------------------------------------
    def _on_signal(self, signum, frame):
        if self.stop_reason is None:
            self.stop_reason = signal.Signals(signum).name
            # Withdraw readiness at once: YakirOS may start the successor and
            # test its readiness before this process reaches its exit path.
            self._remove_if_mine(self.ready_path)

    def drain_wakeup(self, *_):
        try:
            while os.read(self.wake_r, 512):
                pass
        except OSError:
            pass

    # -- handoff (yakiros-behavior.md section 6) ---------------------------
    def _handoff_channel(self):
        """The connected AF_UNIX stream socket YakirOS put on fd 4 (when HANDOFF_FD
        is set its value may name the resolver's fd number: fd 4 is tried first)."""
        cands = [HANDOFF_FD]
        if _int(self.handoff_env, -1) not in (-1, HANDOFF_FD):
            cands.append(_int(self.handoff_env))
        for fd in cands:
            try:
                if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                    continue
                s = socket.socket(fileno=fd)
            except OSError:
                continue
            if (s.family == socket.AF_UNIX and s.type == socket.SOCK_STREAM
                    and not s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                os.set_inheritable(fd, False)
                return s
            s.detach()
        return None

    def receive_handoff(self):
        """Wait up to HANDOFF_RECV_TIMEOUT for fds sent with SCM_RIGHTS on the
        channel. Returns (listener or None, [other stream sockets])."""
        listener, others = None, []
        chan = self.handoff_chan
        if chan is None or not self.upgrade:
            return listener, others
        fds = []
        sel = selectors.DefaultSelector()
        sel.register(chan, selectors.EVENT_READ)
        sel.register(self.wake_r, selectors.EVENT_READ)
        deadline = time.monotonic() + HANDOFF_RECV_TIMEOUT
        what = "timeout"
        while self.stop_reason is None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not any(key.fileobj is chan for key, _ in sel.select(left)):
                self.drain_wakeup()
                continue
            try:
                chan.settimeout(0)
                msg, fds, _flags, _addr = socket.recv_fds(chan, 64, 64)
                what = "eof" if not msg and not fds else "%d fd(s)" % len(fds)
            except OSError as e:
                what = "error %s" % errno.errorcode.get(e.errno, e.errno)
            break
        sel.close()
        if self.stop_reason is not None:
            what = "interrupted by %s" % self.stop_reason
        for fd in fds:
            try:
                s = socket.socket(fileno=fd)
            except OSError:
                os.close(fd)
                continue
            if (s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM
                    and listener is None
                    and s.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)):
                listener = s
            elif s.family in (socket.AF_INET, socket.AF_INET6) and s.type == socket.SOCK_STREAM:
                others.append(s)
            else:
                s.close()
        self.event("handoff: receive on fd %d: %s; listener %s" % (
            chan.fileno(), what, "received" if listener else "not received"))
        return listener, others

    def handoff_complete(self):
        if self.handoff_chan is None or not self.upgrade:
            return
        try:
            self.handoff_chan.settimeout(2.0)
            self.handoff_chan.send(HANDOFF_COMPLETE, socket.MSG_NOSIGNAL)
            self.event("handoff: sent HANDOFF_COMPLETE")
        except OSError as e:
            self.event("handoff: HANDOFF_COMPLETE not sent: %s" % e)

    def pass_sockets(self, listener, conns=()):
        """On SIGUSR1: send LISTENER, then CONNS, over this instance's own
        handoff channel (SCM_RIGHTS, at most 16 fds per message). True when
        everything was sent: the successor now owns them."""
        conns = list(conns)
        if self.handoff_chan is None or listener is None:
            self.event("handoff: SIGUSR1, no handoff channel: nothing passed, exiting")
            return False
        fds = [listener.fileno()] + [c.fileno() for c in conns]
        try:
            self.handoff_chan.settimeout(2.0)
            for i in range(0, len(fds), 16):
                socket.send_fds(self.handoff_chan, [b"L" if i == 0 else b"C"], fds[i:i + 16],
                                socket.MSG_NOSIGNAL)
            self.event("handoff: SIGUSR1, passed listening socket and %d connection(s) over fd %d, exiting"
                       % (len(conns), self.handoff_chan.fileno()))
            return True
        except OSError as e:
            self.event("handoff: SIGUSR1, passing the sockets failed: %s, exiting" % e)
            return False

    def tcp_listener(self, port):
        """The service's listening socket: received over the handoff channel if
        YakirOS started this instance for an upgrade and a socket arrives, else
        bound here (retrying EADDRINUSE while a predecessor exits).
        Returns (socket, 'inherited'|'bound', [adopted connections])."""
        listener, others = self.receive_handoff()
        if self.stop_reason is not None:
            self.event("exit reason=%s during the handoff" % self.stop_reason)
            self.cleanup()
            sys.exit(0)
        how = "inherited"
        if listener is None:
            how = "bound"
            deadline = time.monotonic() + BIND_RETRY_SECONDS
            while True:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("0.0.0.0", port))
                    s.listen(128)
                    listener = s
                    break
                except OSError as e:
                    s.close()
                    if self.stop_reason:
                        self.event("exit reason=%s while waiting for port %d"
                                   % (self.stop_reason, port))
                        self.cleanup()
                        sys.exit(0)
                    if e.errno != errno.EADDRINUSE or time.monotonic() >= deadline:
                        raise
                    time.sleep(0.1)
        listener.setblocking(False)
        return listener, how, others


class Loop:
    """A selectors loop that stops when the service gets SIGTERM/SIGINT/SIGUSR1."""

    def __init__(self, svc):
        self.svc = svc
        self.sel = selectors.DefaultSelector()
        self.sel.register(svc.wake_r, selectors.EVENT_READ, svc.drain_wakeup)
        self.timers = []                 # [next_monotonic, interval, fn]

    def add(self, fileobj, events, cb):
        self.sel.register(fileobj, events, cb)

    def modify(self, fileobj, events, cb):
        self.sel.modify(fileobj, events, cb)

    def remove(self, fileobj):
        try:
            self.sel.unregister(fileobj)
        except (KeyError, ValueError):
            pass

    def every(self, interval, fn, first=0.0):
        self.timers.append([time.monotonic() + first, interval, fn])

    def run(self):
        while self.svc.stop_reason is None:
            timeout = None
            if self.timers:
                timeout = max(0.0, min(t[0] for t in self.timers) - time.monotonic())
            for key, mask in self.sel.select(timeout):
                key.data(key.fileobj, mask)
                if self.svc.stop_reason is not None:
                    break
            now = time.monotonic()
            for t in self.timers:
                if self.svc.stop_reason is None and now >= t[0]:
                    t[2]()
                    t[0] = time.monotonic() + t[1]
        return self.svc.stop_reason


class HttpServer:
    """Minimal HTTP/1.0-style server on the Loop: one request per connection,
    'Connection: close'. HANDLER(method, path, body) -> (status, ctype, bytes)."""

    REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found",
               405: "Method Not Allowed", 413: "Payload Too Large",
               503: "Service Unavailable"}

    def __init__(self, loop, listener, handler):
        self.loop, self.listener, self.handler = loop, listener, handler
        self.requests = 0
        loop.add(listener, selectors.EVENT_READ, self._accept)

    def close(self):
        self.loop.remove(self.listener)

    def _accept(self, sock, _mask):
        for _ in range(64):
            try:
                conn, _addr = sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            self.loop.add(conn, selectors.EVENT_READ, self._make_reader(bytearray()))

    def _make_reader(self, buf):
        def on_read(conn, _mask):
            try:
                data = conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b""
            if not data:
                self._close(conn)
                return
            buf.extend(data)
            resp = self._try_parse(buf)
            if resp is not None:
                self.loop.modify(conn, selectors.EVENT_WRITE, self._make_writer(bytearray(resp)))
        return on_read

    def _try_parse(self, buf):
        end, sep = buf.find(b"\r\n\r\n"), 4
        if end < 0:
            end, sep = buf.find(b"\n\n"), 2
        if end < 0:
            return self._response(413, "text/plain", b"too large\n") if len(buf) > 65536 else None
        head = bytes(buf[:end]).decode("latin-1").replace("\r\n", "\n").split("\n")
        parts = head[0].split()
        if len(parts) < 2:
            return self._response(400, "text/plain", b"bad request\n")
        length = 0
        for h in head[1:]:
            k, _, v = h.partition(":")
            if k.strip().lower() == "content-length":
                length = _int(v.strip())
        body = bytes(buf[end + sep:])
        if len(body) < length:
            return None
        self.requests += 1
        try:
            status, ctype, payload = self.handler(parts[0].upper(), parts[1].split("?", 1)[0],
                                                  body[:length])
        except Exception as e:                       # never kill the service
            status, ctype, payload = 500, "text/plain", ("error: %s\n" % e).encode()
        return self._response(status, ctype, payload)

    def _response(self, status, ctype, payload):
        head = ("HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n"
                "Connection: close\r\n\r\n" % (status, self.REASONS.get(status, "Error"),
                                               ctype, len(payload)))
        return head.encode() + payload

    def _make_writer(self, out):
        def on_write(conn, _mask):
            try:
                n = conn.send(out)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self._close(conn)
                return
            del out[:n]
            if not out:
                self._close(conn)
        return on_write

    def _close(self, conn):
        self.loop.remove(conn)
        try:
            conn.close()
        except OSError:
            pass


def json_bytes(obj):
    import json
    return (json.dumps(obj, sort_keys=True) + "\n").encode()


def serve_http(name, default_port, handler_factory, ready_items=()):
    """Common main() of the HTTP test services: bind (or inherit) the port,
    write the ready file, serve until a signal, then exit 0."""
    svc = Service(name)
    port = port_arg(sys.argv[1:], default_port)
    listener, how, others = svc.tcp_listener(port)
    for s in others:                       # HTTP keeps no connection state
        s.close()
    loop = Loop(svc)
    server = HttpServer(loop, listener, handler_factory(svc))
    svc.mark_ready([("port", port), ("listener", how),
                    ("handoff", "yes" if svc.handoff_chan else "no"),
                    ("replaced_pid", svc.replaced_pid)] + list(ready_items))
    svc.handoff_complete()
    reason = loop.run()
    server.close()
    if reason == "SIGUSR1":
        svc.pass_sockets(listener)
    listener.close()
    svc.event("exit reason=%s requests=%d" % (reason, server.requests))
    svc.cleanup()
    return 0
