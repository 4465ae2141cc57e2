# Sourced by test.sh and bench.sh: installs PostgreSQL's server binaries when missing and starts a
# throwaway cluster on a free loopback port (stopped on exit), exporting SWITCHBOARD_TEST_PG.
# Does nothing when SWITCHBOARD_TEST_PG is already set.
pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

missing=()
pg_bin >/dev/null || missing+=(postgresql)
command -v cc >/dev/null || missing+=(gcc)
command -v cargo >/dev/null || { echo "test.sh: cargo is required (rustup)" >&2; exit 2; }
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test.sh: please install: ${missing[*]}" >&2; exit 2
  fi
fi

if [ -z "${SWITCHBOARD_TEST_PG:-}" ]; then
  BIN=$(pg_bin)
  PGDIR=$(mktemp -d /tmp/switchboard-pg.XXXXXX)
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55439)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres "$PGDIR"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$BIN/initdb" -D "$PGDIR/data" -A trust -U postgres >"$PGDIR/initdb.log" 2>&1
  "${as_pg[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
    -o "-p $PORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null
  trap '"${as_pg[@]}" "$BIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGDIR"' EXIT
  export SWITCHBOARD_TEST_PG="postgres://postgres@127.0.0.1:$PORT/postgres"
  echo "test.sh: throwaway PostgreSQL on 127.0.0.1:$PORT"
fi

