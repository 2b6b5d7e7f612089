/** The text of `troupe help`: it teaches; every setting is in docs/operations.md. */
export const HELP = `troupe — run a Troupe node

Usage:
  troupe start --app <module> [options]
  troupe status  [--url <url>] [--json]          a running node: health of the node and each shard
  troupe tree    [--shard <n>] [--url] [--json]  its supervision trees (mailboxes, rates, restarts)
  troupe actor <path> [--shard <n>] [--url] [--json]   one actor: mailbox, status, children, failures
  troupe metrics [--url <url>] [--json]          its /metrics samples
  troupe status|tree|actor|metrics --node <name> [--nats <url>] [--cluster <name>] [--config <file>]
                                                 the same over NATS (no HTTP port needed)
  troupe cluster status|members|leader [--url] [--json]   the cluster state as the node sees it
  troupe cluster leave|down <node> [--url] [--json]       a member leaves, or the operator downs it
  troupe --version
  troupe help

The inspect commands read a running node's HTTP port (--url, default http://127.0.0.1:9464):
human output on a terminal, JSON lines otherwise or with --json. With --node <name> they reach
the node over NATS instead (its subject troupe.<cluster>.inspect.<name>; for a node whose HTTP
port is out of reach), connecting as the node does: --nats <url>, --cluster <name>, --config
<the node's file>, TROUPE_* variables, --nats-user/-nkey/-creds/-tls-ca/-tls-cert/-tls-key and
--cluster-secret-file. Example: troupe tree --nats nats://10.0.0.5:4222 --cluster bank --node n2

A node runs one app module (its default export is \`defineApp({ name, actors, start })\`) in an
actor system. Without --nats it runs standalone; with --nats it joins the cluster named by
--cluster and external clients can call the actors the app publishes.

Options (each also settable in the config file and as TROUPE_* environment variables;
precedence: defaults < --config file < environment < flags). Every setting, its default and
its variable: docs/operations.md; the config file's JSON Schema: node.config.schema.json.
  --app <module>        App module path (TROUPE_APP; "app" in the config file, relative to
                        that file).                                       required
  --config <file>       JSON config file: the settings below by name ("shutdownDrainMs": 6000),
                        and "settings", an object handed to the app as context.settings.
  --name <id>           Node id, unique in the cluster (TROUPE_NAME).    default node-<pid>
  --cluster <name>      Cluster name and NATS subject prefix (TROUPE_CLUSTER). default troupe
  --nats <url>          NATS server URL(s), comma-separated (TROUPE_NATS). default: standalone
  --shards <n>          Worker-thread shards running actors besides the main thread
                        (TROUPE_SHARDS); 0 runs them all on the main thread. default 0
  --http <host:port>    Health and metrics endpoint; "" disables (TROUPE_HTTP). default 127.0.0.1:9464
  --dashboard <who>     Live dashboard at /dashboard: off|localhost|on (TROUPE_DASHBOARD). default off
  --inspect <who>       /introspect API for status/tree/actor: off|localhost|on (TROUPE_INSPECT).
                                                                          default localhost
  --log-level <level>   fatal|error|warn|info|debug|trace|silent (TROUPE_LOG_LEVEL). default info
  --heartbeat-ms <ms>   Heartbeat period on NATS (TROUPE_HEARTBEAT_MS).   default 1000
  --down-after-ms <ms>  A node silent this long is down (TROUPE_DOWN_AFTER_MS). default 5000
  --shutdown-timeout-ms <ms>
                        Hard deadline of a shutdown (TROUPE_SHUTDOWN_TIMEOUT_MS). default 10000
  -h, --help            This text.
  -v, --version         The version of troupe and of Node.js.

Cluster state (docs/cluster-state.md): members, downing decided by the cluster (a majority of
observers), a name registry and singleton placements, replicated on every member.
  --cluster-state raft|jetstream
                        Turn it on (TROUPE_CLUSTER_STATE; needs --nats and --shards 0). default off
                        raft: the built-in Raft log under --data-dir. jetstream: a stream and KV
                        buckets named after --cluster (docs/cluster-state-jetstream.md); no seeds.
  --seed <node>         A member to join through; repeat for several (TROUPE_SEEDS=a,b). Without
                        seeds the first start bootstraps a new cluster; a restart asks the members
                        it knew. Each start is a new incarnation (counter under --data-dir).
  --role <role>         This member's roles; repeat (TROUPE_ROLES).
  --data-dir <dir>      Durable state: <dir>/<cluster>/<name>/ (TROUPE_DATA_DIR). default troupe-data
  --raft-heartbeat-ms, --raft-election-ms   Raft timing (100, 1000).
  --cluster-api <who>   /cluster and its leave/down: off|localhost|on (TROUPE_CLUSTER_API). default localhost
  Heartbeats (--heartbeat-ms, --down-after-ms) then only report suspicion; the cluster downs a
  member when more than half of the other members suspect it, and every node's watchers get
  Terminated(node-down) once. A downed node exits with code 5 and rejoins only by restarting.

NATS credentials and TLS of the node's connection (docs/security.md; use one credential kind):
  --nats-user <name>    User (TROUPE_NATS_USER); its password only from the config file
                        ("natsPassword") or TROUPE_NATS_PASSWORD, never a flag (ps shows flags).
                        A token likewise: "natsToken" or TROUPE_NATS_TOKEN.
  --nats-nkey <file>    NKey user seed file, SU... (TROUPE_NATS_NKEY_SEED_FILE).
  --nats-creds <file>   .creds file: user JWT + NKey seed, as nsc writes it (TROUPE_NATS_CREDS_FILE).
                        Seed and creds files are read again on every reconnect.
  --nats-tls-ca <file>  CA certificate (PEM) to trust for the server (TROUPE_NATS_TLS_CA_FILE).
  --nats-tls-cert <file>, --nats-tls-key <file>
                        Client certificate and key for mutual TLS (TROUPE_NATS_TLS_CERT_FILE,
                        TROUPE_NATS_TLS_KEY_FILE).

The gateway's connection (external calls) uses the node's unless given its own; when its
servers or credentials differ it opens a second connection. The same settings with "gateway":
  --gateway-nats <url>, --gateway-nats-user <name>, --gateway-nats-nkey <file>,
  --gateway-nats-creds <file>, --gateway-nats-tls-ca <file>, --gateway-nats-tls-cert <file>,
  --gateway-nats-tls-key <file>   (TROUPE_GATEWAY_NATS, TROUPE_GATEWAY_NATS_USER, ...;
                        password/token: "gatewayNatsPassword"/"gatewayNatsToken" or env).
  Any gateway credential replaces the node's credentials; any gateway TLS file replaces its TLS.

Where NATS permissions cannot keep strangers off the node subjects, a cluster secret signs every
node frame and heartbeat (HMAC-SHA256); unsigned or wrongly signed ones are dropped and counted:
  --cluster-secret-file <file>
                        First line: the current secret (>= 16 bytes; 32 random bytes, e.g.
                        \`openssl rand -base64 32\`); optional second line: the previous one, still
                        accepted while a rotation rolls out (TROUPE_CLUSTER_SECRET_FILE; or
                        TROUPE_CLUSTER_SECRET and TROUPE_CLUSTER_SECRET_PREVIOUS). Every node of the
                        cluster needs a key in common.

Endpoints: GET /healthz (alive), /readyz (app started, NATS connected), /startupz, /metrics;
with cluster state GET /cluster, POST /cluster/leave?node=, POST /cluster/down?node=.

Signals: SIGTERM or SIGINT runs the coordinated shutdown, phase by phase, each logged with its
outcome: leaving (peers route no new work here), stop-intake (gateway; the app's stop),
drain (every shard's mailboxes, in-flight asks answered), leave (peers hear it at once; what they
had sent is still handled), stop-actors (children first; worker threads end), close (NATS drain).
Everything fits in shutdownTimeoutMs (--shutdown-timeout-ms, default 10000); its last
shutdownForceMs (--shutdown-force-ms, 2000) belong to the forced path (stop actors, leave,
close). Phase timeouts: --shutdown-intake-ms (1000), --shutdown-drain-ms (4000),
--shutdown-leave-ms (1000), --shutdown-quiet-ms (200: how long no frame may arrive for leave to
end), --shutdown-actors-ms (1000), --shutdown-close-ms (1000); as variables TROUPE_SHUTDOWN_*_MS.
A second signal exits at once (a repeat within 1 s is the same Ctrl-C, forwarded by npm: ignored).

Exit codes: 0 clean stop; 1 the top supervisor gave up; 2 usage or configuration error;
3 shutdown incomplete (a phase timed out, the deadline forced it, or a second signal);
4 the app failed to start (this includes an unreachable NATS server at start); 5 the cluster
downed this node (quarantined: restart it to rejoin).

Logs: JSON lines on stdout; pretty, coloured text when stdout is a terminal.

Example:
  troupe start --app examples/bank/node.ts --http 127.0.0.1:9464
`
