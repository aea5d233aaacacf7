# shellcheck shell=bash
# A jump host and an SSH server only it reaches, as separate hosts in network namespaces:
#
#   this machine ── 10.77.1.0/24 ── wpr-jump (sshd 10.77.1.2:22, forwarding allowed)
#                                      └── 10.77.2.0/24 ── wpr-site (sshd 10.77.2.2:22)
#
# This machine has no route to 10.77.2.0/24 and the jump host forwards no packets, so the site's
# sshd is reachable only through an SSH tunnel from the jump host, as behind a bastion. Both
# let the site account in with the sandbox's client key, each with host keys of its own (in
# $STATE/client/known_hosts_jump). The site sshd serves the same account and files (the
# namespaces share the filesystem); its website is the fixture site on this machine, which
# the client reaches directly, as a public website behind an SSH bastion.
#
# Sourced by tests/sandbox/sandbox, whose variables (STATE, RUN, SITE_USER, ...) and helpers
# (log, die, wait_for, running) it uses.

JUMP_NS=wpr-jump
BEHIND_NS=wpr-site
JUMP_ADDR=10.77.1.2
JUMP_HOST_SIDE=10.77.1.1
BEHIND_ADDR=10.77.2.2
BEHIND_JUMP_SIDE=10.77.2.1

# The namespaces and links, once per boot (they do not outlive the machine).
ensure_jump_network() {
  # The site's network is unreachable from here, and says so at once: without this route a
  # default gateway may take the packets and leave the connection hanging.
  ip route replace unreachable "${BEHIND_ADDR%.*}.0/24"
  ip netns list | grep -qw "$JUMP_NS" && ip netns list | grep -qw "$BEHIND_NS" && return
  ip netns del "$JUMP_NS" 2>/dev/null || true
  ip netns del "$BEHIND_NS" 2>/dev/null || true
  ip link del wprj0 2>/dev/null || true
  ip netns add "$JUMP_NS"
  ip netns add "$BEHIND_NS"
  ip link add wprj0 type veth peer name eth0 netns "$JUMP_NS"
  ip addr add "$JUMP_HOST_SIDE/24" dev wprj0
  ip link set wprj0 up
  ip link add eth1 netns "$JUMP_NS" type veth peer name eth0 netns "$BEHIND_NS"
  ip -n "$JUMP_NS" addr add "$JUMP_ADDR/24" dev eth0
  ip -n "$JUMP_NS" addr add "$BEHIND_JUMP_SIDE/24" dev eth1
  ip -n "$BEHIND_NS" addr add "$BEHIND_ADDR/24" dev eth0
  for ns in "$JUMP_NS" "$BEHIND_NS"; do
    ip -n "$ns" link set lo up
    ip -n "$ns" link set eth0 up
  done
  ip -n "$JUMP_NS" link set eth1 up
  # The jump host forwards no packets: only its sshd's tunnels reach the site's network.
  ip netns exec "$JUMP_NS" sysctl -qw net.ipv4.ip_forward=0
}

# Host keys for each host, and the known_hosts file the tests trust them through.
ensure_jump_keys() {
  local d=$STATE/jump name
  mkdir -p "$d"
  for name in jump behind; do
    [ -f "$d/$name-host-key" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/$name-host-key"
  done
  {
    printf '%s %s\n' "$JUMP_ADDR" "$(cut -d' ' -f1-2 "$d/jump-host-key.pub")"
    printf '%s %s\n' "$BEHIND_ADDR" "$(cut -d' ' -f1-2 "$d/behind-host-key.pub")"
  } >"$STATE/client/known_hosts_jump"
}

write_jump_sshd_config() { # name address forwarding(yes|no)
  cat >"$STATE/jump/$1-sshd_config" <<EOF
Port 22
ListenAddress $2
HostKey $STATE/jump/$1-host-key
PidFile $RUN/sshd-$1.pid
AllowUsers $SITE_USER
PermitRootLogin no
PasswordAuthentication no
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
AuthorizedKeysFile .ssh/authorized_keys
Subsystem sftp /usr/lib/openssh/sftp-server
AllowTcpForwarding $3
ClientAliveInterval 30
EOF
}

start_jump_sshd() { # name namespace
  pid_alive "sshd-$1" && return
  mkdir -p /run/sshd
  ip netns exec "$2" /usr/sbin/sshd -f "$STATE/jump/$1-sshd_config" -E "$STATE/log/sshd-$1.log" 9>&-
  wait_for "the $1 sshd" test -s "$RUN/sshd-$1.pid"
}

up_jump_hosts() {
  ensure_jump_network
  ensure_jump_keys
  write_jump_sshd_config jump "$JUMP_ADDR" yes
  write_jump_sshd_config behind "$BEHIND_ADDR" no
  start_jump_sshd jump "$JUMP_NS"
  start_jump_sshd behind "$BEHIND_NS"
}

down_jump_hosts() {
  stop_service sshd-jump
  stop_service sshd-behind
}

jump_hosts_env() {
  cat <<EOF
SANDBOX_JUMP_HOST=$JUMP_ADDR
SANDBOX_JUMP_PORT=22
SANDBOX_BEHIND_JUMP_HOST=$BEHIND_ADDR
SANDBOX_BEHIND_JUMP_PORT=22
SANDBOX_JUMP_KNOWN_HOSTS=$STATE/client/known_hosts_jump
EOF
}

jump_hosts_status() {
  local ok=1
  timeout 3 bash -c "exec 3<>/dev/tcp/$JUMP_ADDR/22; head -c 4 <&3" 2>/dev/null | grep -q '^SSH-' || ok=0
  # The site's sshd answers inside its own network, and is out of this machine's reach.
  ip netns exec "$JUMP_NS" timeout 3 bash -c "exec 3<>/dev/tcp/$BEHIND_ADDR/22; head -c 4 <&3" 2>/dev/null |
    grep -q '^SSH-' || ok=0
  if timeout 1 bash -c "exec 3<>/dev/tcp/$BEHIND_ADDR/22" 2>/dev/null; then ok=0; fi
  if [ "$ok" = 1 ]; then
    status_line jump-host ok "ssh://$SITE_USER@$JUMP_ADDR, and only through it $BEHIND_ADDR:22"
  else
    status_line jump-host down "$JUMP_ADDR:22, $BEHIND_ADDR:22 (only through it)"
    return 1
  fi
}
