# Pure-FTPd (cPanel's default) and ProFTPD (Plesk's default) beside the sandbox's vsftpd: each
# serves the site account, chrooted to its home, with plain FTP and explicit FTPS (AUTH TLS) on
# one port, TLS optional, as hosts run them. Sourced by tests/sandbox/sandbox, whose variables
# (STATE, RUN, SITE_USER, ...) and helpers (log, die, pid_alive, stop_service, ...) it uses.
#
# Debian's pure-ftpd, proftpd-core and vsftpd conflict (each Provides ftp-server), so the two
# are not installed: their packages are unpacked under $STATE/ftp-servers and run from there,
# and only their libraries are installed (FTP_SERVER_LIBS, added to the sandbox's PACKAGES).
#
# Their defaults are kept where hosts keep them, since those are what the client must cope with:
# - Pure-FTPd without --displaydotfiles: its listings hide dotfiles (.htaccess) unless the
#   client asks with `LIST -a`.
# - ProFTPD's mod_tls requires data connections to resume the control connection's TLS session
#   (no `TLSOptions NoSessionReuseRequired`), and it offers MLSD.

PUREFTPD_PORT=2131
PUREFTPD_PASSIVE=(30100 30119)
PROFTPD_PORT=2141
PROFTPD_PASSIVE=(30120 30139)
FTP_SERVERS=$STATE/ftp-servers
# What the unpacked binaries and ProFTPD's modules link against, beyond the sandbox's packages
# (`apt-cache show pure-ftpd proftpd-core proftpd-mod-crypto`, Depends).
FTP_SERVER_LIBS=(libcap2 libsodium23 libacl1 libhiredis0.14 libidn2-0 libmemcached11
  libmemcachedutil2 libpcre2-8-0 libpcre2-posix3)
PACKAGES+=("${FTP_SERVER_LIBS[@]}")

# Unpacks each server's packages once: pure-ftpd, and proftpd-core with mod_tls
# (proftpd-mod-crypto). A folder is only complete with its marker, so an interrupted download
# is done again.
install_ftp_servers() {
  local name debs
  for name in pure-ftpd proftpd; do
    [ -f "$FTP_SERVERS/$name/.unpacked" ] && continue
    case $name in
      pure-ftpd) debs=(pure-ftpd) ;;
      proftpd) debs=(proftpd-core proftpd-mod-crypto) ;;
    esac
    log "unpacking ${debs[*]} into $FTP_SERVERS/$name"
    local tmp; tmp=$(mktemp -d)
    # apt's package lists may be gone (a container image drops them after `sandbox install`).
    if ! (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "${debs[@]}"); then
      apt-get update -qq
      (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "${debs[@]}")
    fi
    rm -rf "${FTP_SERVERS:?}/$name"
    mkdir -p "$FTP_SERVERS/$name"
    local deb
    for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$FTP_SERVERS/$name"; done
    rm -rf "$tmp"
    touch "$FTP_SERVERS/$name/.unpacked"
  done
}

write_proftpd_config() {
  local d=$FTP_SERVERS/proftpd
  cat >"$d/proftpd.conf" <<EOF
ServerName "wprescue sandbox ProFTPD"
ServerType standalone
DefaultAddress $ADDR
SocketBindTight on
UseIPv6 off
Port $PROFTPD_PORT
PassivePorts ${PROFTPD_PASSIVE[0]} ${PROFTPD_PASSIVE[1]}
MaxInstances 30
User nobody
Group nogroup
PidFile $RUN/proftpd.pid
ScoreboardFile $d/proftpd.scoreboard
DelayTable $d/proftpd.delay
SystemLog $STATE/log/proftpd.log
TransferLog $STATE/log/proftpd.xfer.log
WtmpLog off
UseReverseDNS off
# Plain Unix accounts (the password in /etc/shadow); PAM would want an /etc/pam.d/ftp.
AuthOrder mod_auth_unix.c
DefaultRoot ~
Umask 022
AllowOverwrite on
ModulePath $d/usr/lib/proftpd
LoadModule mod_tls.c
TLSEngine on
TLSLog $STATE/log/proftpd-tls.log
TLSProtocol TLSv1.2 TLSv1.3
TLSRSACertificateFile $STATE/tls/server.crt
TLSRSACertificateKeyFile $STATE/tls/server.key
TLSVerifyClient off
TLSRequired off
EOF
}

start_pureftpd() {
  pid_alive pure-ftpd && return
  local d=$FTP_SERVERS/pure-ftpd
  # In the foreground (no -B). -l unix: /etc/passwd and /etc/shadow; -u 1000: no system
  # accounts. -A: every account chrooted to its home. -Y 1: TLS optional. No -D
  # (--displaydotfiles), as cPanel runs it. It takes at most half as many sessions as it has
  # passive ports (10).
  setsid "$d/usr/sbin/pure-ftpd" -S "$ADDR,$PUREFTPD_PORT" -4 -l unix -u 1000 -A -E -H \
    -p "${PUREFTPD_PASSIVE[0]}:${PUREFTPD_PASSIVE[1]}" -P "$ADDR" \
    -Y 1 -2 "$STATE/tls/server.crt,$STATE/tls/server.key" \
    -O "clf:$STATE/log/pure-ftpd.xfer.log" \
    </dev/null >>"$STATE/log/pure-ftpd.out" 2>&1 9>&- &
  echo $! >"$RUN/pure-ftpd.pid"
}

start_proftpd() {
  pid_alive proftpd && return
  setsid "$FTP_SERVERS/proftpd/usr/sbin/proftpd" --nodaemon --config "$FTP_SERVERS/proftpd/proftpd.conf" \
    </dev/null >>"$STATE/log/proftpd.out" 2>&1 9>&- &
  echo $! >"$RUN/proftpd.pid"
}

# Unpacks (if needed), configures and starts both, and waits for their greetings; `sandbox up`
# calls it.
up_ftp_servers() {
  install_ftp_servers
  write_proftpd_config
  start_pureftpd
  start_proftpd
  wait_for Pure-FTPd probe_banner "$PUREFTPD_PORT" 220
  wait_for ProFTPD probe_banner "$PROFTPD_PORT" 220
}

down_ftp_servers() {
  stop_service pure-ftpd
  stop_service proftpd
}

# One status line per server: the greeting, then AUTH TLS with the sandbox CA's certificate.
ftp_servers_status() {
  local bad=0 server name port
  for server in "pure-ftpd $PUREFTPD_PORT" "proftpd $PROFTPD_PORT"; do
    read -r name port <<<"$server"
    if probe_banner "$port" 220 &&
      timeout 5 openssl s_client -starttls ftp -connect "$ADDR:$port" -CAfile "$STATE/tls/ca.pem" \
        -verify_return_error </dev/null >/dev/null 2>&1; then
      status_line "$name" ok "ftp(s)://$SITE_USER@$ADDR:$port (explicit TLS optional)"
    else
      status_line "$name" down "$ADDR:$port"
      bad=1
    fi
  done
  return $bad
}

ftp_servers_env() {
  printf 'SANDBOX_PUREFTPD_PORT=%s\nSANDBOX_PROFTPD_PORT=%s\n' "$PUREFTPD_PORT" "$PROFTPD_PORT"
}
