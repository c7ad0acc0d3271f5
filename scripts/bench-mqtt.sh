#!/usr/bin/env bash
# Starts a private mosquitto on a free loopback port and runs `vlm-stream bench mqtt` against it.
# Usage: scripts/bench-mqtt.sh [extra bench flags, e.g. --messages 20000]  (BUILD=release for a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
config=${BUILD:-debug}
swift build -c "$config" --product vlm-stream >/dev/null
bin=$(swift build -c "$config" --show-bin-path)/vlm-stream
mosquitto=$(command -v mosquitto || echo /usr/sbin/mosquitto)
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n' "$port" >"$dir/mosquitto.conf"
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$dir/mosquitto.conf"
"$mosquitto" -c "$dir/mosquitto.conf" >"$dir/log" 2>&1 &
broker=$!
trap 'kill $broker 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
"$bin" bench mqtt --mqtt "mqtt://127.0.0.1:$port" "$@"
