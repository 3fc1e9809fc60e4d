#!/usr/bin/env bash
# kafka-broker.sh - run a real Apache Kafka 4.x broker (KRaft, no ZooKeeper, no Docker)
# from jars resolved on Maven Central. Needs bash 4+, Java 17+, Maven (first run only), Linux.
#
#   start               single node on 127.0.0.1:9092 (no-op if it is already running)
#   cluster-start       3 nodes on 127.0.0.1:19092,29092,39092
#   stop [--clean]      stop every node (SIGTERM, SIGKILL after 30 s); --clean deletes broker state
#   status [--json]     node states
#   env                 print KAFKA_BOOTSTRAP_SERVERS=... of the running layout
#   node-kill N | node-stop N | node-start N    fault injection (SIGKILL / SIGTERM / restart)
#   fetch               only download the jars
#   logs [N]            tail node N's log
#
# Docs: docs/kafka-broker.md. Every default below can be overridden from the environment.
set -euo pipefail
shopt -s nullglob

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
: "${KAFKA_VERSION:=4.4.0}"                            # org.apache.kafka:kafka_2.13:<this>
: "${KAFKA_CACHE_DIR:=$ROOT/.cache/kafka}"             # jars (+ Maven repo)
: "${KAFKA_STATE_DIR:=$ROOT/.cache/kafka-state}"       # configs, data, logs, pid files
: "${KAFKA_HEAP_OPTS:=}"                               # default: 512m single node, 384m per cluster node
: "${KAFKA_OPTS:=}"                                    # extra JVM flags
: "${KAFKA_EXTRA_PROPS:=}"                             # newline-separated key=value appended to server.properties
: "${KAFKA_START_TIMEOUT:=120}"
: "${KAFKA_STOP_TIMEOUT:=30}"
: "${MVN:=mvn}"
HOST=127.0.0.1
SINGLE_PORTS=(9092) CLUSTER_PORTS=(19092 29092 39092)   # controller port = client port + 1
LIBS=$KAFKA_CACHE_DIR/kafka_2.13-$KAFKA_VERSION/libs
STATE=$KAFKA_STATE_DIR
PROG=${0##*/}

log() { printf '[kafka-broker] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
alive() { local s; s=$(ps -o stat= -p "$1" 2>/dev/null) && [[ $s != Z* ]]; }   # zombies count as dead
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$HOST" "$1" 2>/dev/null; }

# ------------------------------------------------------------------ jars --
fetch() {
  [[ -f $LIBS/.complete ]] && return 0
  command -v "$MVN" >/dev/null || die "Maven not found and $LIBS is not cached"
  local work=$KAFKA_CACHE_DIR/kafka_2.13-$KAFKA_VERSION/mvn
  rm -rf -- "$work" "$LIBS.tmp"; mkdir -p -- "$work"
  # kafka_2.13 brings log4j-api/-core (via kafka-server) and slf4j-api 1.7.x, but no SLF4J binding:
  # add log4j-slf4j-impl (SLF4J 1.x -> Log4j2) or the broker logs nothing.
  cat >"$work/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>kafka-broker-classpath</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>\${log4j.version}</version></dependency>
  </dependencies>
  <properties><log4j.version>${LOG4J_VERSION:-2.25.5}</log4j.version></properties>
</project>
EOF
  log "downloading kafka_2.13:$KAFKA_VERSION and its runtime dependencies (Maven log: $work/mvn.log)"
  "$MVN" -B -ntp -f "$work/pom.xml" -Dmaven.repo.local="${MAVEN_REPO_LOCAL:-$KAFKA_CACHE_DIR/m2}" \
    org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >"$work/mvn.log" 2>&1 \
    || { tail -n 40 "$work/mvn.log" >&2; die "Maven could not resolve Kafka $KAFKA_VERSION"; }
  local f=("$LIBS.tmp"/log4j-core-*.jar "$LIBS.tmp"/log4j-slf4j-impl-*.jar)
  [[ -f $LIBS.tmp/kafka_2.13-$KAFKA_VERSION.jar && ${#f[@]} == 2 ]] || die "incomplete classpath in $LIBS.tmp"
  rm -rf -- "$LIBS"; mv -- "$LIBS.tmp" "$LIBS"; touch "$LIBS/.complete"
  log "$(ls "$LIBS"/*.jar | wc -l) jars, $(du -sh "$LIBS" | cut -f1) in $LIBS"
}

java_bin() {
  JAVA=${JAVA_HOME:+$JAVA_HOME/bin/}java
  local v; v=$("$JAVA" -version 2>&1 | sed -nE '1s/.*version "([0-9]+).*/\1/p') || true
  [[ -n $v && $v -ge 17 ]] || die "Kafka 4.x needs Java 17+ ($JAVA: '${v:-not found}')"
}

# ---------------------------------------------------------------- layout --
# $STATE/layout: MODE=single|cluster, NODES="1 2 3", PORTS="19092 29092 39092", VERSION, LIBS_DIR
load_layout() { [[ -f $STATE/layout ]] && . "$STATE/layout"; }
node_port() { local p=($PORTS); echo "${p[$(($1 - 1))]}"; }
bootstrap() { local s="" p; for p in $PORTS; do s+="${s:+,}$HOST:$p"; done; echo "$s"; }

node_pid() {   # prints the pid of node $1 if alive and really our kafka.Kafka for that node
  local pf=$STATE/node-$1/kafka.pid pid
  [[ -f $pf ]] && pid=$(<"$pf") && [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -F "kafka.Kafka $STATE/node-$1/server.properties" >/dev/null || return 1
  echo "$pid"
}

write_config() {   # id port voters rf
  local id=$1 port=$2 dir=$STATE/node-$1 minisr=$(( $4 > 1 ? 2 : 1 ))
  mkdir -p -- "$dir"
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$id
listeners=PLAINTEXT://$HOST:$port,CONTROLLER://$HOST:$((port + 1))
advertised.listeners=PLAINTEXT://$HOST:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
controller.quorum.voters=$3
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=$4
min.insync.replicas=$minisr
offsets.topic.replication.factor=$4
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$4
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=$4
share.coordinator.state.topic.min.isr=$minisr
share.coordinator.state.topic.num.partitions=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
$( (( $4 > 1 )) && printf '%s\n' "# cluster: fence a crashed broker after 4 s instead of 9 s (faster failover and restart)" \
  broker.session.timeout.ms=4000 broker.heartbeat.interval.ms=1000 )
${KAFKA_EXTRA_PROPS}
EOF
}

write_log4j() {   # Log4j2 properties format (Kafka's own log4j2.yaml needs jackson-yaml parsing)
  cat >"$STATE/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
}

launch() {   # id: start node $1 in the background (its own session, so terminal signals don't reach it)
  local id=$1 dir=$STATE/node-$1 port; port=$(node_port "$1")
  ! port_open "$port" && ! port_open $((port + 1)) || die "port $HOST:$port or $((port + 1)) is in use"
  local heap=${KAFKA_HEAP_OPTS:-$([[ $MODE == single ]] && echo "-Xmx512m -Xms512m" || echo "-Xmx384m -Xms384m")}
  local off=0; [[ -f $dir/kafka.log ]] && off=$(wc -c <"$dir/kafka.log"); echo "$off" >"$dir/log.offset"
  # shellcheck disable=SC2086
  setsid nohup "$JAVA" $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true $KAFKA_OPTS \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$STATE/log4j2.properties" \
    -cp "$LIBS_DIR/*" kafka.Kafka "$dir/server.properties" >>"$dir/kafka.log" 2>&1 </dev/null &
  echo $! >"$dir/kafka.pid"
  log "node $id: pid $! on $HOST:$port (log $dir/kafka.log)"
}

wait_ready() {   # ids...: client port open AND "Kafka Server started" logged since launch
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) id pending=("$@") left
  while (( ${#pending[@]} )); do
    left=()
    for id in "${pending[@]}"; do
      local dir=$STATE/node-$id
      alive "$(<"$dir/kafka.pid")" || { tail -n 40 "$dir/kafka.log" >&2; stop_nodes KILL "$@"; die "node $id exited during startup"; }
      if port_open "$(node_port "$id")" && tail -c +"$(( $(<"$dir/log.offset") + 1 ))" "$dir/kafka.log" | grep -F 'Kafka Server started' >/dev/null; then
        log "node $id ready"
      else left+=("$id"); fi
    done
    pending=(${left[@]+"${left[@]}"})
    (( ${#pending[@]} == 0 )) && break
    if (( SECONDS >= deadline )); then
      for id in "${pending[@]}"; do tail -n 40 "$STATE/node-$id/kafka.log" >&2; done
      stop_nodes KILL "$@"; die "not ready after ${KAFKA_START_TIMEOUT}s"
    fi
    sleep 0.2
  done
}

stop_nodes() {   # signal ids...: signal all at once (a lone last node would wait minutes for a quorum)
  local sig=$1 id pid pids=(); shift
  for id in "$@"; do
    if pid=$(node_pid "$id"); then kill -s "$sig" "$pid" 2>/dev/null || true; kill -s CONT "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  for pid in ${pids[@]+"${pids[@]}"}; do
    while alive "$pid"; do
      if (( SECONDS >= deadline )); then log "pid $pid still alive: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
      sleep 0.2
    done
  done
  for id in "$@"; do rm -f -- "$STATE/node-$id/kafka.pid"; done
}

# --------------------------------------------------------------- commands --
wipe_state() {   # only a dir this script made (has a layout file) or an empty one
  [[ ! -e $STATE || -f $STATE/layout || -z $(ls -A -- "$STATE") ]] || die "refusing to delete $STATE: not a kafka-broker state dir"
  rm -rf -- "$STATE"
}

start_layout() {   # mode
  local mode=$1 ports id
  if load_layout; then
    local running=() down=()
    for id in $NODES; do if node_pid "$id" >/dev/null; then running+=("$id"); else down+=("$id"); fi; done
    if (( ${#running[@]} )); then
      [[ $MODE == "$mode" ]] || die "a $MODE layout is running; run '$PROG stop' first"
      java_bin
      for id in ${down[@]+"${down[@]}"}; do launch "$id"; done
      wait_ready $NODES
      log "already running"; echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)"; return 0
    fi
  fi
  fetch; java_bin
  if [[ $mode == single ]]; then ports=("${SINGLE_PORTS[@]}"); else ports=("${CLUSTER_PORTS[@]}"); fi
  for id in "${ports[@]}"; do   # client port and controller port (+1) must be free
    ! port_open "$id" && ! port_open $((id + 1)) || die "port $HOST:$id or $((id + 1)) is in use (another Kafka? point KAFKA_BOOTSTRAP_SERVERS at it instead)"
  done
  wipe_state; mkdir -p -- "$STATE"
  MODE=$mode NODES=$(seq -s ' ' 1 ${#ports[@]}) PORTS=${ports[*]} LIBS_DIR=$LIBS
  printf 'MODE=%s\nNODES="%s"\nPORTS="%s"\nVERSION=%s\nLIBS_DIR=%q\n' "$MODE" "$NODES" "$PORTS" "$KAFKA_VERSION" "$LIBS" >"$STATE/layout"
  local voters="" rf=${#ports[@]}
  for id in $NODES; do voters+="${voters:+,}$id@$HOST:$(( $(node_port "$id") + 1 ))"; done
  for id in $NODES; do write_config "$id" "$(node_port "$id")" "$voters" "$rf"; done
  write_log4j
  # Same cluster id for every node. Static quorum (controller.quorum.voters): format WITHOUT --standalone.
  local cid; cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'); cid=${cid/#-/A}
  local fpids=()
  for id in $NODES; do
    "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$STATE/log4j2.properties" -cp "$LIBS/*" kafka.tools.StorageTool \
      format --config "$STATE/node-$id/server.properties" --cluster-id "$cid" >"$STATE/node-$id/format.log" 2>&1 &
    fpids+=($!)
  done
  for id in "${fpids[@]}"; do wait "$id" || { cat "$STATE"/node-*/format.log >&2; die "storage format failed"; }; done
  for id in $NODES; do launch "$id"; done
  wait_ready $NODES
  echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)"
}

cmd_stop() {
  local clean=0
  [[ ${1:-} == --clean ]] && clean=1
  if load_layout; then stop_nodes TERM $NODES; log "stopped"; else log "nothing to stop"; fi
  (( clean )) && wipe_state && log "removed $STATE"
  return 0
}

cmd_status() {
  local json=0 id pid state out="" up=0 n=0
  [[ ${1:-} == --json ]] && json=1
  if ! load_layout; then
    (( json )) && echo '{"running":false,"nodes":[]}' || echo "no broker started from $STATE"
    return 1
  fi
  (( json )) || echo "Kafka $VERSION ($MODE) bootstrap=$(bootstrap) state=$STATE"
  for id in $NODES; do
    n=$((n + 1)); pid=""
    if pid=$(node_pid "$id"); then
      if port_open "$(node_port "$id")"; then state=up; up=$((up + 1)); else state=starting; fi
    else state=down; pid=""; fi
    if (( json )); then
      out+="${out:+,}{\"id\":$id,\"port\":$(node_port "$id"),\"state\":\"$state\",\"pid\":${pid:-null}}"
    else
      printf '  node %s  %-8s pid %-8s %s:%s\n' "$id" "$state" "${pid:--}" "$HOST" "$(node_port "$id")"
    fi
  done
  (( json )) && printf '{"running":%s,"mode":"%s","version":"%s","bootstrapServers":"%s","nodes":[%s]}\n' \
    "$( (( up == n )) && echo true || echo false)" "$MODE" "$VERSION" "$(bootstrap)" "$out"
  (( up == n ))
}

cmd_node() {   # action id
  load_layout || die "nothing started"
  [[ " $NODES " == *" ${2:-x} "* ]] || die "usage: node-$1 N (N in: $NODES)"
  case $1 in
    kill) stop_nodes KILL "$2"; log "node $2 killed" ;;
    stop) stop_nodes TERM "$2"; log "node $2 stopped" ;;
    start) node_pid "$2" >/dev/null && { log "node $2 already running"; return 0; }
           java_bin; launch "$2"; wait_ready "$2" ;;
  esac
}

cmd=${1:-help}; shift || true
case $cmd in
  start)         start_layout single ;;
  cluster-start) start_layout cluster ;;
  stop)          cmd_stop "$@" ;;
  status)        cmd_status "$@" ;;
  env)           load_layout || die "nothing started (run '$PROG start')"; echo "KAFKA_BOOTSTRAP_SERVERS=$(bootstrap)" ;;
  node-kill|node-stop|node-start) cmd_node "${cmd#node-}" "$@" ;;
  fetch)         fetch ;;
  logs)          load_layout || die "nothing started"; tail -n 100 "$STATE/node-${1:-1}/kafka.log" ;;
  help|-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' ;;
  *)             die "unknown command '$cmd' (try: $PROG help)" ;;
esac
