# Sourced by tools/services/<name>, tools/libvirt/install and tools/install: what they share.
#  - apt_install: Debian packages installed one apt at a time across all scripts, finishing an
#    install that a killed script left half done, and recorded in $APT_MANIFEST so that
#    tools/services/reset removes exactly what the project's scripts added.
#  - next_steps: the last lines of every failure, saying what to run next.
# The caller sets NAME (e.g. rabbitmq) and may set RUN_DIR and STATE_DIR before sourcing.

RUN_DIR=${RUN_DIR:-${TELEWATCH_SERVICES_RUN:-/run/telewatch-services}}
STATE_DIR=${STATE_DIR:-${TELEWATCH_SERVICES_STATE:-/var/lib/telewatch-services}}
# One package a line: every Debian package that an install of these scripts added.
APT_MANIFEST=$STATE_DIR/apt-installed

# Packages dpkg knows as (at least partly) installed, one a line, sorted.
_dpkg_present() {
  dpkg-query -W -f='${db:Status-Status} ${Package}\n' 2>/dev/null |
    awk '$1 != "not-installed" && $1 != "config-files" {print $2}' | sort -u
}

# apt_missing PACKAGE...: prints those that are not installed, one a line.
apt_missing() {
  local package
  for package in "$@"; do
    [ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" = 'install ok installed' ] ||
      echo "$package"
  done
}

# apt_install LOG PACKAGE...: installs those of PACKAGE... that are not installed yet, quietly
# (apt's output goes to LOG), without letting a package's init script start a daemon of its
# own. Returns non-zero, with LOG's tail on stderr, when apt fails.
apt_install() {
  local log=$1 missing policy= rc=0 before
  shift
  mapfile -t missing < <(apt_missing "$@")
  [ ${#missing[@]} -gt 0 ] || return 0
  mkdir -p "$RUN_DIR" "$STATE_DIR" "$(dirname "$log")"
  # dpkg allows one apt at a time.
  exec 7>"$RUN_DIR/apt.lock"
  if ! flock -w 900 7; then
    echo "$RUN_DIR/apt.lock still held after 900 s (another apt-get running?)" >&2
    return 1
  fi
  before=$(_dpkg_present)
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
  fi
  # `dpkg --configure -a` first: a script killed in the middle of an install (a timeout, a
  # Ctrl-C) leaves dpkg "interrupted", and every later apt-get refuses until it is run.
  {
    DEBIAN_FRONTEND=noninteractive dpkg --configure -a --force-confdef --force-confold &&
      DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  } >"$log" 2>&1 || rc=$?
  [ -z "$policy" ] || rm -f "$policy"
  comm -13 <(printf '%s\n' "$before") <(_dpkg_present) >>"$APT_MANIFEST"
  exec 7>&-
  if [ $rc -ne 0 ]; then
    tail -n 20 "$log" >&2
    echo "apt-get install ${missing[*]} failed (log: $log)" >&2
    return 1
  fi
}

# What to run next, printed after a failure of tools/services/$NAME.
next_steps() {
  cat >&2 <<EOF
tools/services/$NAME: next: fix what the lines above name, then run \`tools/services/$NAME start\`
  again (it resumes an interrupted install and repairs what is missing); if that does not
  help, \`tools/services/$NAME restart\`; to install it again from nothing,
  \`tools/services/reset $NAME && tools/services/$NAME start\`.
EOF
}

# record_created KIND VALUE: notes something outside the state and cache directories that a
# script made (KIND `user` or `file`), for tools/services/reset to remove.
record_created() {
  mkdir -p "$STATE_DIR"
  grep -qxF "$1 $2" "$STATE_DIR/created" 2>/dev/null || echo "$1 $2" >>"$STATE_DIR/created"
}
