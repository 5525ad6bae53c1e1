#!/usr/bin/env bash
# Run a throwaway Virtuoso 7 (Debian package virtuoso-opensource-7) on loopback for the
# remote-store tests, with SPARQL Update allowed for the anonymous SPARQL user.
#   scripts/virtuoso.sh start   # installs the package if needed; prints the store location
#   scripts/virtuoso.sh stop
# VIRTUOSO_DIR, VIRTUOSO_SQL_PORT and VIRTUOSO_HTTP_PORT move it; VIRTUOSO_BUFFERS sets its
# page cache in 8 kB buffers (the Debian default of 10,000 is 80 MB; the benchmarks give it
# 170,000, Virtuoso's own advice for 2 GB of memory).
set -euo pipefail
DIR="${VIRTUOSO_DIR:-/tmp/semtwin-virtuoso}"
SQL_PORT="${VIRTUOSO_SQL_PORT:-1112}"
HTTP_PORT="${VIRTUOSO_HTTP_PORT:-8891}"
BUFFERS="${VIRTUOSO_BUFFERS:-10000}"

install() {
  if ! command -v virtuoso-t > /dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q < /dev/null > /dev/null
    apt-get install -y -q virtuoso-opensource-7 < /dev/null > /dev/null
  fi
}

start() {
  install
  stop quiet
  rm -rf "$DIR" && mkdir -p "$DIR"
  sed -e "s|/var/lib/virtuoso-opensource-7/db|$DIR|g" \
      -e "s|^ServerPort\( *\)= 1111|ServerPort\1= $SQL_PORT|" \
      -e "s|^ServerPort\( *\)= 8890|ServerPort\1= 127.0.0.1:$HTTP_PORT|" \
      -e "s|^NumberOfBuffers\( *\)= 10000|NumberOfBuffers\1= $BUFFERS|" \
      -e "s|^MaxDirtyBuffers\( *\)= 6000|MaxDirtyBuffers\1= $((BUFFERS * 3 / 4))|" \
      -e "s|^DirsAllowed\( *\)= .*|DirsAllowed\1= ., $DIR, /usr/share/virtuoso-opensource-7/vad|" \
      /etc/virtuoso-opensource-7/virtuoso.ini > "$DIR/virtuoso.ini"
  # A simple command sent to the background: no subshell is left holding this script's stdout
  # (the caller reads the printed location until end of file).
  cd "$DIR"
  nohup virtuoso-t +foreground +configfile "$DIR/virtuoso.ini" \
      > "$DIR/virtuoso.out" 2>&1 < /dev/null &
  echo $! > "$DIR/pid"
  cd - > /dev/null
  local ready=no
  for _ in $(seq 1 120); do
    if curl -fsS -m 5 -o /dev/null "http://127.0.0.1:$HTTP_PORT/sparql?query=ASK%7B%7D" 2>/dev/null; then
      ready=yes
      break
    fi
    sleep 0.5
  done
  if [ "$ready" != yes ]; then
    echo "Virtuoso did not come up within 60 s; its log:" >&2
    tail -20 "$DIR/virtuoso.out" >&2
    exit 1
  fi
  timeout 60 isql-vt "$SQL_PORT" dba dba exec="grant SPARQL_UPDATE to \"SPARQL\"; \
DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);" < /dev/null > "$DIR/grant.out" 2>&1
  echo "virtuoso+http://127.0.0.1:$HTTP_PORT"
}

stop() {
  if [ -f "$DIR/pid" ]; then
    kill "$(cat "$DIR/pid")" 2> /dev/null || true
    for _ in $(seq 1 40); do kill -0 "$(cat "$DIR/pid")" 2> /dev/null || break; sleep 0.25; done
    kill -9 "$(cat "$DIR/pid")" 2> /dev/null || true
    rm -f "$DIR/pid"
  fi
  [ "${1:-}" = quiet ] || echo stopped
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
