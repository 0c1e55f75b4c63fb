#!/usr/bin/env bash
# Installs (Debian packages) and starts what `npm run test:e2e` needs: Chromium, NATS on
# 127.0.0.1:4222 and PostgreSQL on 127.0.0.1:5432. Idempotent; safe to run every time.
set -euo pipefail

need_root() { if [ "$(id -u)" -ne 0 ]; then echo "run as root (or install: apt-get install -y chromium nats-server postgresql)" >&2; exit 1; fi; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
[ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  need_root
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! port_open 4222; then
  echo "starting NATS"
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec "$(command -v nats-server || echo /usr/sbin/nats-server)" -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
fi
if ! port_open 5432; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
fi

for i in $(seq 1 50); do
  if port_open 4222 && port_open 5432; then echo "e2e services up: chromium, nats 127.0.0.1:4222, postgresql 127.0.0.1:5432"; exit 0; fi
  sleep 0.2
done
port_open 4222 || echo "NATS is not reachable on 127.0.0.1:4222" >&2
port_open 5432 || echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2
exit 1
