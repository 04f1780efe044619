# Copyright: crosshost.docker contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NOT Consul: a stand-in `consul` program for tests/integration/test_consul_role.py.

No Consul binary can be installed on the machines this project is built on (no package registry
carries one). The role's file handling (install from a zip, configuration, init script, check and
diff mode, idempotence) and its request sequence (leader wait, ACL bootstrap, policies, tokens,
reload) are still exercised for real by packing this script as `consul` into a release-shaped zip.
It proves what the ROLE does; it proves nothing about Consul. The test that runs the role against
a real Consul needs CROSSHOST_CONSUL_BIN (see the test module's docstring).

Standard library only. test_consul_role.py packs it with the shebang `#!/usr/bin/python3` (the
system's python3, which the `consul` user can run). Commands:

    consul version
    consul validate [-quiet] [-config-format=hcl] FILE|DIR
    consul agent -config-dir=DIR [-pid-file=FILE]

`validate` parses the HCL subset the role writes (attributes, blocks, strings, numbers, bools,
lists) plus .json files, merges them in lexical order like Consul, and checks a few of Consul's
own rules: `encrypt` is 32 bytes of base64, `datacenter` is lower-case letters, digits, `-`, `_`,
`bootstrap_expect` only on servers, `data_dir` is set. As a test hook, any string value
"fake-invalid" fails validation.

`agent` serves a subset of the HTTP API on each `client_addr` at `ports.http`, modelled on
Consul's public API reference (/v1/status/leader, /v1/acl/bootstrap, /v1/acl/token/self,
/v1/acl/policy[/name/NAME|/ID], /v1/acl/tokens?policy=ID, /v1/acl/token[/ACCESSOR], /v1/kv/KEY).
Where the reference is silent the choice is marked "stand-in". State (bootstrap, policies, tokens,
keys) is kept in <data_dir>/standin-state.json, so it survives restarts like Consul's raft data.
- A server is its own leader ("<bind_addr>:8300"). A client answers with its first retry_join
  address as the leader (stand-in: it never talks to the server); ACL and KV calls on a client
  answer 500 (stand-in: only servers are modelled).
- ACLs: `acl.tokens.initial_management` from the configuration is a management token. Bootstrap
  works once (200, then 403 "ACL bootstrap no longer allowed"). ACL endpoints need a management
  token (403 "Permission denied" otherwise); an unknown token is 403 "ACL not found"; so is an
  unknown policy name (Consul answers ACL lookups of missing objects with 403 "ACL not found").
- KV: the token's policies' `key_prefix` rules, longest prefix wins, write implies read, no match
  falls back to `acl.default_policy`.
- SIGHUP reloads the configuration (tokens) and counts reloads in the state file; SIGTERM exits.
"""

import base64
import binascii
import json
import os
import re
import signal
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

GLOBAL_MANAGEMENT = "00000000-0000-0000-0000-000000000001"
DATACENTER_RE = re.compile(r"^[a-z0-9_-]+$")
TOKEN_RE = re.compile(r'\s*(?:(#[^\n]*)|("(?:[^"\\]|\\.)*")|([A-Za-z_][A-Za-z0-9_.-]*)|(-?\d+(?:\.\d+)?)|([=\[\]{},]))')


class ConfigError(Exception):
    pass


# ------------------------------------------------------------------------------------------ HCL


def _tokens(text):
    pos, out = 0, []
    text = text.rstrip()
    while pos < len(text):
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise ConfigError("cannot parse at %r" % text[pos:pos + 30])
        pos = m.end()
        comment, string, ident, number, punct = m.groups()
        if comment:
            continue
        if string:
            out.append(("str", json.loads(string)))
        elif ident:
            out.append(("bool", ident == "true") if ident in ("true", "false") else ("ident", ident))
        elif number:
            out.append(("num", float(number) if "." in number else int(number)))
        else:
            out.append(("p", punct))
    return out


def parse_hcl(text):
    toks = _tokens(text)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else (None, None)

    def take(kind=None, value=None):
        tok = peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value is not None and tok[1] != value):
            raise ConfigError("unexpected %r (wanted %s %s)" % (tok, kind, value))
        pos[0] += 1
        return tok

    def value():
        kind, val = peek()
        if kind in ("str", "num", "bool"):
            take()
            return val
        if (kind, val) == ("p", "["):
            take()
            items = []
            while peek() != ("p", "]"):
                items.append(value())
                if peek() == ("p", ","):
                    take()
            take("p", "]")
            return items
        if (kind, val) == ("p", "{"):
            take()
            body = block_body("}")
            take("p", "}")
            return body
        raise ConfigError("unexpected %r" % (peek(),))

    def block_body(end):
        out = {}
        while peek()[0] is not None and peek() != ("p", end):
            key = (take("ident") if peek()[0] == "ident" else take("str"))[1]
            if peek() == ("p", "="):
                take()
                out[key] = value()
            else:
                take("p", "{")
                inner = block_body("}")
                take("p", "}")
                out[key] = merge(out.get(key, {}), inner)
        return out

    result = block_body(None)
    if pos[0] != len(toks):
        raise ConfigError("trailing %r" % (peek(),))
    return result


def merge(a, b):
    out = dict(a)
    for k, v in b.items():
        out[k] = merge(out[k], v) if isinstance(out.get(k), dict) and isinstance(v, dict) else v
    return out


def load(path, config_format=None):
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(path, f) for f in os.listdir(path)
        if f.endswith((".hcl", ".json")) and os.path.isfile(os.path.join(path, f)))
    cfg = {}
    for f in files:
        with open(f) as fh:
            text = fh.read()
        fmt = config_format or ("json" if f.endswith(".json") else "hcl")
        try:
            part = json.loads(text) if fmt == "json" else parse_hcl(text)
        except (ConfigError, ValueError) as e:
            raise ConfigError("%s: %s" % (f, e))
        cfg = merge(cfg, part)
    return cfg


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def check(cfg, partial):
    if "fake-invalid" in list(strings(cfg)):
        raise ConfigError("fake-invalid found (test hook)")
    if "encrypt" in cfg:
        try:
            if len(base64.b64decode(cfg["encrypt"], validate=True)) != 32:
                raise ValueError
        except (binascii.Error, ValueError):
            raise ConfigError("encrypt has to be 32 bytes in base64")
    if "datacenter" in cfg and not DATACENTER_RE.match(cfg["datacenter"]):
        raise ConfigError("datacenter: Datacenter can only contain lowercase alphanumeric, - or _ characters.")
    if cfg.get("bootstrap_expect") and not cfg.get("server"):
        raise ConfigError("bootstrap_expect only works for servers")
    if not partial and not cfg.get("data_dir"):
        raise ConfigError("data_dir cannot be empty")


# ------------------------------------------------------------------------------------------ agent


class Agent:
    def __init__(self, config_dir):
        self.config_dir = config_dir
        self.lock = threading.RLock()
        self.reload()
        self.state_path = os.path.join(self.cfg["data_dir"], "standin-state.json")
        try:
            with open(self.state_path) as f:
                self.state = json.load(f)
        except (OSError, ValueError):
            self.state = {"bootstrapped": False, "policies": {}, "tokens": {}, "kv": {}, "reloads": 0, "index": 10}

    def reload(self):
        cfg = load(self.config_dir)
        check(cfg, partial=False)
        self.cfg = cfg

    def save(self):
        tmp = self.state_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.state, f)
        os.rename(tmp, self.state_path)

    def next_index(self):
        self.state["index"] += 1
        return self.state["index"]

    @property
    def server(self):
        return bool(self.cfg.get("server"))

    def leader(self):
        if self.server:
            return "%s:8300" % self.cfg.get("advertise_addr", self.cfg.get("bind_addr"))
        join = self.cfg.get("retry_join") or []
        return "%s:8300" % join[0] if join else ""

    # --- ACL helpers
    def acl(self):
        return self.cfg.get("acl", {})

    def management_secrets(self):
        secrets = {t["SecretID"] for t in self.state["tokens"].values()
                   if any(p["ID"] == GLOBAL_MANAGEMENT for p in t["Policies"])}
        initial = self.acl().get("tokens", {}).get("initial_management")
        if initial:
            secrets.add(initial)
        return secrets

    def token_by_secret(self, secret):
        for t in self.state["tokens"].values():
            if t["SecretID"] == secret:
                return t
        initial = self.acl().get("tokens", {}).get("initial_management")
        if secret and secret == initial:
            return {"AccessorID": "initial-management", "SecretID": initial, "Description": "Initial Management Token",
                    "Policies": [{"ID": GLOBAL_MANAGEMENT, "Name": "global-management"}]}
        return None

    def key_policy(self, secret, key):
        """'write', 'read' or 'deny' for key under this token."""
        if not self.acl().get("enabled"):
            return "write"
        if secret in self.management_secrets():
            return "write"
        token = self.token_by_secret(secret) if secret else None
        best, best_len = None, -1
        for ref in (token or {}).get("Policies", []):
            policy = self.state["policies"].get(ref["ID"])
            if not policy:
                continue
            for prefix, rule in re.findall(r'key_prefix\s+"([^"]*)"\s*\{\s*policy\s*=\s*"(\w+)"\s*\}', policy["Rules"]):
                if key.startswith(prefix) and len(prefix) > best_len:
                    best, best_len = rule, len(prefix)
        if best is None:
            return "write" if self.acl().get("default_policy", "allow") == "allow" else "deny"
        return best


class Handler(BaseHTTPRequestHandler):
    agent = None
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # never logs headers (tokens)
        sys.stdout.write("    [INFO] agent.http: %s %s\n" % (self.command, urlparse(self.path).path))
        sys.stdout.flush()

    def reply(self, status, body, raw=False):
        data = body if raw else json.dumps(body).encode()
        if isinstance(data, str):
            data = data.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8" if raw else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def secret(self):
        return self.headers.get("X-Consul-Token") or parse_qs(urlparse(self.path).query).get("token", [""])[0]

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.route("GET")

    def do_PUT(self):
        self.route("PUT")

    def route(self, method):
        a = self.agent
        url = urlparse(self.path)
        path, query = url.path, parse_qs(url.query, keep_blank_values=True)
        with a.lock:
            if path == "/v1/status/leader" and method == "GET":
                return self.reply(200, a.leader())
            if path.startswith(("/v1/acl/", "/v1/kv/")) and not a.server:
                return self.reply(500, "stand-in: only servers model ACL and KV endpoints", raw=True)
            if path.startswith("/v1/acl/"):
                return self.acl_route(method, path, query)
            if path.startswith("/v1/kv/"):
                return self.kv_route(method, unquote(path[len("/v1/kv/"):]), query)
        return self.reply(404, "stand-in: not modelled: %s %s" % (method, path), raw=True)

    def acl_route(self, method, path, query):
        a = self.agent
        st = a.state
        if not a.acl().get("enabled"):
            return self.reply(401, "ACL support disabled", raw=True)
        if path == "/v1/acl/bootstrap" and method == "PUT":
            if st["bootstrapped"]:
                return self.reply(403, "Permission denied: ACL bootstrap no longer allowed (reset index: %d)"
                                  % st["index"], raw=True)
            token = {"AccessorID": str(uuid.uuid4()), "SecretID": str(uuid.uuid4()),
                     "Description": "Bootstrap Token (Global Management)",
                     "Policies": [{"ID": GLOBAL_MANAGEMENT, "Name": "global-management"}], "Local": False,
                     "CreateIndex": a.next_index()}
            st["tokens"][token["AccessorID"]] = token
            st["bootstrapped"] = True
            a.save()
            return self.reply(200, token)
        secret = self.secret()
        token = a.token_by_secret(secret)
        if token is None:
            return self.reply(403, "ACL not found", raw=True)
        if path == "/v1/acl/token/self" and method == "GET":
            return self.reply(200, token)
        if secret not in a.management_secrets():
            return self.reply(403, "Permission denied: token lacks permission 'acl:write'", raw=True)
        if path.startswith("/v1/acl/policy/name/") and method == "GET":
            name = unquote(path[len("/v1/acl/policy/name/"):])
            for p in st["policies"].values():
                if p["Name"] == name:
                    return self.reply(200, p)
            return self.reply(403, "ACL not found", raw=True)
        if path.startswith("/v1/acl/policy") and method == "PUT":
            try:
                body = json.loads(self.body() or b"{}")
            except ValueError:
                return self.reply(400, "Request decode failed", raw=True)
            pid = path[len("/v1/acl/policy/"):] if path.startswith("/v1/acl/policy/") else ""
            if pid and pid not in st["policies"]:
                return self.reply(400, "Invalid Policy: ID not found", raw=True)
            for p in st["policies"].values():
                if p["Name"] == body.get("Name") and p["ID"] != pid:
                    return self.reply(500, 'Invalid Policy: A Policy with Name "%s" already exists' % p["Name"],
                                      raw=True)
            policy = st["policies"].get(pid) or {"ID": str(uuid.uuid4()), "CreateIndex": a.next_index()}
            policy.update(Name=body.get("Name", ""), Description=body.get("Description", ""),
                          Rules=body.get("Rules", ""), ModifyIndex=a.next_index())
            st["policies"][policy["ID"]] = policy
            a.save()
            return self.reply(200, policy)
        if path == "/v1/acl/tokens" and method == "GET":
            want = query.get("policy", [None])[0]
            stubs = [dict(t) for t in st["tokens"].values()
                     if want is None or any(p["ID"] == want for p in t["Policies"])]
            return self.reply(200, stubs)
        if path == "/v1/acl/token" and method == "PUT":
            try:
                body = json.loads(self.body() or b"{}")
            except ValueError:
                return self.reply(400, "Request decode failed", raw=True)
            refs = []
            for ref in body.get("Policies", []):
                p = st["policies"].get(ref.get("ID")) or next(
                    (q for q in st["policies"].values() if q["Name"] == ref.get("Name")), None)
                if p is None:
                    return self.reply(400, "Invalid Policy: no such policy %r" % ref, raw=True)
                refs.append({"ID": p["ID"], "Name": p["Name"]})
            token = {"AccessorID": str(uuid.uuid4()), "SecretID": str(uuid.uuid4()),
                     "Description": body.get("Description", ""), "Policies": refs, "Local": bool(body.get("Local")),
                     "CreateIndex": a.next_index()}
            st["tokens"][token["AccessorID"]] = token
            a.save()
            return self.reply(200, token)
        if path.startswith("/v1/acl/token/") and method == "GET":
            t = st["tokens"].get(path[len("/v1/acl/token/"):])
            return self.reply(200, t) if t else self.reply(403, "ACL not found", raw=True)
        return self.reply(404, "stand-in: not modelled: %s %s" % (method, path), raw=True)

    def kv_route(self, method, key, query):
        a = self.agent
        rule = a.key_policy(self.secret(), key)
        if method == "PUT":
            if rule != "write":
                return self.reply(403, "Permission denied: token lacks permission 'key:write' on %r" % key, raw=True)
            a.state["kv"][key] = base64.b64encode(self.body()).decode()
            a.save()
            return self.reply(200, True)
        if rule == "deny":
            return self.reply(403, "Permission denied: token lacks permission 'key:read' on %r" % key, raw=True)
        if key not in a.state["kv"]:
            return self.reply(404, b"", raw=True)
        if "raw" in query:
            return self.reply(200, base64.b64decode(a.state["kv"][key]), raw=True)
        return self.reply(200, [{"Key": key, "Value": a.state["kv"][key], "Flags": 0}])


def sd_notify(message):
    """Tell systemd the agent is up, as Consul does under its Type=notify unit (no-op elsewhere)."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path:
        return
    if path.startswith("@"):
        path = "\0" + path[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(path)
        s.sendall(message.encode())


def agent_main(args):
    config_dir = next((x.split("=", 1)[1] for x in args if x.startswith("-config-dir=")), None)
    pid_file = next((x.split("=", 1)[1] for x in args if x.startswith("-pid-file=")), None)
    if not config_dir:
        print("stand-in consul: agent needs -config-dir=DIR", file=sys.stderr)
        return 1
    try:
        agent = Agent(config_dir)
    except (ConfigError, OSError, KeyError) as e:
        print("==> stand-in consul: %s" % e, file=sys.stderr)
        return 1
    if pid_file:
        with open(pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    Handler.agent = agent
    port = int(agent.cfg.get("ports", {}).get("http", 8500))
    servers = []
    for addr in str(agent.cfg.get("client_addr", "127.0.0.1")).split():
        srv = ThreadingHTTPServer((addr, port), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)

    def on_hup(_sig, _frame):
        with agent.lock:
            try:
                agent.reload()
                agent.state["reloads"] += 1
                agent.save()
                print("    [INFO] agent: Reloading configuration...", flush=True)
            except (ConfigError, OSError) as e:
                print("    [ERROR] agent: Failed to reload configs: %s" % e, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print("==> Consul agent running! (crosshost.docker stand-in, NOT Consul; %s, node %s)"
          % ("server" if agent.server else "client", agent.cfg.get("node_name")), flush=True)
    sd_notify("READY=1")
    while not stop.wait(1):
        pass
    for srv in servers:
        srv.shutdown()
    if pid_file:
        try:
            os.unlink(pid_file)
        except OSError:
            pass
    print("==> stand-in consul: shutdown", flush=True)
    return 0


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "version":
        print("Consul v0.0.0 (crosshost.docker test stand-in, NOT Consul)")
        return 0
    if cmd == "validate":
        rest = argv[2:]
        fmt = next((x.split("=", 1)[1] for x in rest if x.startswith("-config-format=")), None)
        paths = [x for x in rest if not x.startswith("-")]
        try:
            for p in paths:
                check(load(p, fmt), partial=os.path.isfile(p))
        except (ConfigError, OSError) as e:
            print("Config validation failed: %s" % e, file=sys.stderr)
            return 1
        with open("/var/log/consul-standin-validate.log", "a") as f:
            f.write(" ".join(argv[1:]) + "\n")
        if "-quiet" not in rest:
            print("Configuration is valid!")
        return 0
    if cmd == "agent":
        return agent_main(argv[2:])
    print("stand-in consul: unsupported command %r" % cmd, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
