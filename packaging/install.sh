#!/bin/sh
# Xi-Exec installer: run from the release directory as root.
#
#   sh install.sh --agent --name web1 --listen 10.0.0.5:7441 [--advertise HOST:PORT] [--tag env=production]...
#   sh install.sh --controller [--listen 127.0.0.1:8443]
#   sh install.sh --agent|--controller --uninstall     remove the program and its service, keep the home
#   sh install.sh --agent|--controller --purge         the same, and the home and the system user
#
#   --dry-run     print every action and change nothing
#   --root DIR    install into the root file system at DIR (commands run there with chroot)
#
# Debian/Ubuntu with systemd and glibc hosts get the single executable; Alpine (OpenRC) and OpenWrt
# (procd) get the JS bundle, run by the system's Node (20.11 or later). Nothing is downloaded.
# Run again, it upgrades in place and keeps the home (pairing, audit log, allowlist).
# Exit status: 0 done, 1 an action failed, 2 bad usage or a refusal before anything changed.
set -eu

program=install.sh
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

role=''
action=install
name=''
listen=''
advertise=''
tags=''
root=''
dry_run=0

say() { printf '%s\n' "$*"; }
refuse() { printf '%s: %s\n' "$program" "$1" >&2; exit 2; }
fail() { printf '%s: %s\n' "$program" "$1" >&2; exit 1; }

usage() {
	sed -n '2,15s/^# \{0,1\}//p' "$0"
}

value_of() {
	if [ $# -lt 2 ] || [ -z "$2" ]; then
		refuse "$1 needs a value; run sh install.sh --help."
	fi
}

while [ $# -gt 0 ]; do
	case $1 in
		--agent) role=agent ;;
		--controller) role=controller ;;
		--uninstall) action=uninstall ;;
		--purge) action=purge ;;
		--dry-run) dry_run=1 ;;
		--name) value_of "$@"; name=$2; shift ;;
		--listen) value_of "$@"; listen=$2; shift ;;
		--advertise) value_of "$@"; advertise=$2; shift ;;
		--tag) value_of "$@"; tags="$tags
$2"; shift ;;
		--root) value_of "$@"; root=${2%/}; shift ;;
		--help|-h) usage; exit 0 ;;
		*) refuse "unknown option $1; run sh install.sh --help." ;;
	esac
	shift
done

[ -n "$role" ] || refuse "say what to install: --agent or --controller (sh install.sh --help)."
if [ "$role" = controller ] && { [ -n "$name" ] || [ -n "$advertise" ] || [ -n "$tags" ]; }; then
	refuse "--name, --advertise and --tag are for --agent; the controller takes --listen (its REST API address)."
fi

if [ -n "$root" ]; then
	[ -d "$root" ] || refuse "--root $root is not a directory."
	root=$(CDPATH='' cd -- "$root" && pwd)
	[ "$root" != / ] || root=''
fi

if [ "$dry_run" = 0 ] && [ "$(id -u)" != 0 ]; then
	refuse "run as root (it creates a system user and installs a service); --dry-run shows what it would do."
fi

# Every change goes through act: printed, and done unless --dry-run.
act() {
	if [ "$dry_run" = 1 ]; then
		say "would: $*"
	else
		say "  $*"
		"$@" || fail "failed: $* (exit $?)"
	fi
}

# A command run inside the target system (chroot under --root).
inside() {
	if [ -n "$root" ]; then
		chroot "$root" "$@"
	else
		"$@"
	fi
}

has_inside() {
	# shellcheck disable=SC2016  # $1 is expanded by the inner sh.
	inside sh -c 'command -v "$1" >/dev/null 2>&1' sh "$1"
}

# --- What system is this? ---------------------------------------------------------------

os_field() {
	for file in "$root/etc/os-release" "$root/usr/lib/os-release"; do
		if [ -r "$file" ]; then
			sed -n "s/^$1=//p" "$file" | tr -d '"' | head -n 1
			return
		fi
	done
}

os_id=$(os_field ID)
os_like=$(os_field ID_LIKE)
case " $os_id $os_like " in
	*' debian '*|*' ubuntu '*) os=debian; init=systemd; libc=glibc; bindir=/usr/local/bin ;;
	*' alpine '*) os=alpine; init=openrc; libc=musl; bindir=/usr/local/bin ;;
	*' openwrt '*) os=openwrt; init=procd; libc=musl; bindir=/usr/bin ;;
	*) refuse "this system (ID=${os_id:-unknown} in /etc/os-release) is not one install.sh knows: Debian or Ubuntu (systemd), Alpine (OpenRC), OpenWrt (procd)." ;;
esac

case $(uname -m) in
	x86_64|amd64) arch=x64 ;;
	aarch64|arm64) arch=arm64 ;;
	*) arch='' ;;
esac

if [ "$role" = agent ]; then
	service=xi-exec-agent
	user=xi-exec-run
	home=/var/lib/xi-exec-agent
	home_owner=root
	home_variable=XI_EXEC_AGENT_HOME
else
	service=xi-exec
	user=xi-exec
	home=/var/lib/xi-exec
	home_owner=xi-exec
	home_variable=XI_EXEC_HOME
	listen=${listen:-127.0.0.1:8443}
fi

executable="$bindir/$service"
# The agent's OpenSSL configuration (services/openssl-agent.cnf): its service names it in OPENSSL_CONF.
openssl_conf=$([ "$role" = agent ] && echo /etc/xi-exec-agent.openssl.cnf || echo)
case $init in
	systemd) unit=/etc/systemd/system/$service.service; unit_source="$here/services/systemd/$service.service" ;;
	openrc) unit=/etc/init.d/$service; unit_source="$here/services/openrc/$service" ;;
	procd) unit=/etc/init.d/$service; unit_source="$here/services/procd/$service" ;;
esac

# Is the init system running this very system (not a chroot or an image being built)?
init_running() {
	[ -z "$root" ] || return 1
	case $init in
		systemd) [ -d /run/systemd/system ] ;;
		openrc) [ -d /run/openrc ] ;;
		procd) pgrep -x procd >/dev/null 2>&1 || [ -e /var/run/ubus/ubus.sock ] || [ -e /var/run/ubus.sock ] ;;
	esac
}

service_command() {
	case $init in
		systemd) say "systemctl $1 $service" ;;
		openrc) say "rc-service $service $1" ;;
		procd) say "/etc/init.d/$service $1" ;;
	esac
}

# --- Uninstall and purge -----------------------------------------------------------------

disable_service() {
	if init_running; then
		case $init in
			systemd) act systemctl disable --now "$service.service" ;;
			openrc) act rc-service "$service" stop; act rc-update del "$service" default ;;
			procd) act "/etc/init.d/$service" stop; act "/etc/init.d/$service" disable ;;
		esac
	fi

	for link in "$root/etc/systemd/system/multi-user.target.wants/$service.service" "$root/etc/runlevels/default/$service" "$root/etc/rc.d/S95$service" "$root/etc/rc.d/K10$service"; do
		if [ -L "$link" ]; then
			act rm -f "$link"
		fi
	done
}

remove_user() {
	if inside id -u "$user" >/dev/null 2>&1; then
		if has_inside userdel; then
			act inside userdel "$user"
		elif has_inside deluser; then
			act inside deluser "$user"
		fi
	fi

	if inside grep -q "^$user:" /etc/group 2>/dev/null; then
		if has_inside groupdel; then
			act inside groupdel "$user"
		elif has_inside delgroup; then
			act inside delgroup "$user"
		fi
	fi
}

if [ "$action" != install ]; then
	say "Removing the Xi-Exec $role from ${root:-this system} ($os, $init)."
	disable_service
	[ ! -e "$root$unit" ] || act rm -f "$root$unit"
	[ ! -e "$root$executable" ] || act rm -f "$root$executable"
	[ -z "$openssl_conf" ] || [ ! -e "$root$openssl_conf" ] || act rm -f "$root$openssl_conf"
	if [ "$init" = systemd ] && init_running; then
		act systemctl daemon-reload
	fi

	if [ "$action" = uninstall ]; then
		[ ! -d "$root$home" ] || say "Kept $home (pairing, audit log, allowlist) and the user $user: an install upgrades it again, sh install.sh --$role --purge removes them."
		exit 0
	fi

	if [ -d "$root$home" ]; then
		files=$(find "$root$home" -type f | wc -l | tr -d ' ')
		say "Purging $home ($files files): lost for good are this $role's keys and certificates (its pairing: the $([ "$role" = agent ] && echo 'agent must be paired again' || echo 'fleet CA goes, and every agent must be paired with a new controller')), its audit log and its configuration."
		act rm -rf "$root$home"
	fi

	remove_user
	exit 0
fi

# --- Check what the install needs ----------------------------------------------------------

missing=''
need() { missing="$missing
  - $1"; }

if [ "$libc" = glibc ]; then
	[ -n "$arch" ] || refuse "there is no single executable for $(uname -m): the release has linux-x64 and linux-arm64."
	artefact="$here/$service-linux-$arch"
	case $arch in
		x64) loader=/lib64/ld-linux-x86-64.so.2 ;;
		arm64) loader=/lib/ld-linux-aarch64.so.1 ;;
	esac
	[ -e "$root$loader" ] || need "the C library's loader $loader (glibc; Debian package libc6)"
	found=''
	for directory in /usr/lib/*-linux-gnu /lib/*-linux-gnu /usr/lib64 /usr/lib /lib64 /lib; do
		if [ -e "$root$directory/libstdc++.so.6" ]; then
			found=yes
			break
		fi
	done
	[ -n "$found" ] || need "libstdc++.so.6 (Debian/Ubuntu package libstdc++6)"
else
	artefact="$here/$service.cjs"
	if has_inside node; then
		node_version=$(inside node -p 'process.versions.node' 2>/dev/null || echo unknown)
		major=${node_version%%.*}
		minor=${node_version#*.}
		minor=${minor%%.*}
		case $major$minor in
			*[!0-9]*|'') need "Node.js 20.11 or later (node --version says $node_version)" ;;
			*) if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 11 ]; }; then
				need "Node.js 20.11 or later (this is $node_version; $([ "$os" = alpine ] && echo 'apk add nodejs' || echo 'opkg install node'))"
			fi ;;
		esac
	else
		need "Node.js 20.11 or later: $([ "$os" = alpine ] && echo 'apk add nodejs' || echo 'opkg install node') (on $os the JS bundle runs on the system's Node)"
	fi
fi

[ -f "$artefact" ] || need "$(basename "$artefact") beside install.sh (run install.sh from the release directory)"
[ -f "$unit_source" ] || need "services/${unit_source#"$here/services/"} beside install.sh (run install.sh from the release directory)"
[ -z "$openssl_conf" ] || [ -f "$here/services/openssl-agent.cnf" ] || need "services/openssl-agent.cnf beside install.sh (run install.sh from the release directory)"

case $os in
	alpine) has_inside adduser || need "adduser (busybox)"; has_inside addgroup || need "addgroup (busybox)" ;;
	openwrt) has_inside useradd || need "useradd (opkg install shadow-useradd)"; has_inside groupadd || need "groupadd (opkg install shadow-groupadd)" ;;
	*) has_inside useradd || need "useradd (Debian package passwd)"; has_inside groupadd || need "groupadd (Debian package passwd)" ;;
esac

if [ "$init" = systemd ] && [ ! -e "$root/lib/systemd/systemd" ] && [ ! -e "$root/usr/lib/systemd/systemd" ]; then
	say "Note: systemd is not installed here; the unit is written and enabled, and starts once systemd runs this system."
fi

if [ -n "$missing" ]; then
	refuse "cannot install the $role on this $os system; missing:$missing"
fi

upgrade=no
[ ! -e "$root$executable" ] || upgrade=yes
if [ "$role" = agent ]; then
	initialised=$([ -f "$root$home/config.json" ] && echo yes || echo no)
else
	initialised=$([ -f "$root$home/ca.pem" ] && echo yes || echo no)
fi

if [ "$role" = agent ] && [ "$initialised" = no ] && { [ -z "$name" ] || [ -z "$listen" ]; }; then
	refuse "a first install of the agent needs --name NAME and --listen HOST:PORT (the address the controller dials)."
fi

# --- Install --------------------------------------------------------------------------------

say "$([ "$upgrade" = yes ] && echo Upgrading || echo Installing) the Xi-Exec $role on ${root:-this system} ($os, $init, $([ "$libc" = glibc ] && echo "single executable for linux-$arch" || echo "JS bundle on Node $node_version"))."

# The system user: the controller runs as it; for the agent it is the unprivileged user that
# allowlisted scripts run as (--run-as xi-exec-run), while the agent itself runs as root.
if ! inside id -u "$user" >/dev/null 2>&1; then
	case $os in
		alpine) act inside addgroup -S "$user"; act inside adduser -S -D -H -h "$([ "$role" = controller ] && echo "$home" || echo /nonexistent)" -s /sbin/nologin -G "$user" "$user" ;;
		*) act inside groupadd --system "$user"; act inside useradd --system --gid "$user" --no-create-home --home-dir "$([ "$role" = controller ] && echo "$home" || echo /nonexistent)" --shell /usr/sbin/nologin "$user" ;;
	esac
fi

# The home, with the modes of README "Files": 0700, owned by whoever runs the service.
if [ ! -d "$root$home" ]; then
	act mkdir -p "$root$home"
fi
act chmod 0700 "$root$home"
act inside chown "$home_owner:$([ "$home_owner" = root ] && echo root || echo "$user")" "$home"

# The program: copied beside its destination and renamed over it, so a running service keeps its
# old file until it restarts and nobody ever sees half a program.
act mkdir -p "$root$bindir"
act cp "$artefact" "$root$executable.new"
act chmod 0755 "$root$executable.new"
act mv -f "$root$executable.new" "$root$executable"

# The agent's OpenSSL configuration (no TLS session tickets), before the service that names it.
if [ -n "$openssl_conf" ]; then
	act cp "$here/services/openssl-agent.cnf" "$root$openssl_conf.new"
	act chmod 0644 "$root$openssl_conf.new"
	act mv -f "$root$openssl_conf.new" "$root$openssl_conf"
fi

# The service, with this system's paths.
act mkdir -p "$(dirname "$root$unit")"
if [ "$dry_run" = 1 ]; then
	say "would: write $root$unit from ${unit_source#"$here/"} (program $executable$([ "$role" = controller ] && echo ", --listen $listen"))"
else
	sed -e "s|@BINDIR@|$bindir|g" -e "s|@LISTEN@|$listen|g" "$unit_source" > "$root$unit.new" || fail "cannot write $root$unit."
	chmod "$([ "$init" = systemd ] && echo 0644 || echo 0755)" "$root$unit.new"
	mv -f "$root$unit.new" "$root$unit"
	say "  wrote $root$unit"
fi

case $init in
	systemd)
		act mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
		act ln -sf "$unit" "$root/etc/systemd/system/multi-user.target.wants/$service.service"
		if init_running; then
			act systemctl daemon-reload
		fi ;;
	openrc)
		act mkdir -p "$root/etc/runlevels/default"
		act ln -sf "$unit" "$root/etc/runlevels/default/$service" ;;
	procd)
		act mkdir -p "$root/etc/rc.d"
		act ln -sf "../init.d/$service" "$root/etc/rc.d/S95$service"
		act ln -sf "../init.d/$service" "$root/etc/rc.d/K10$service" ;;
esac

# First install: make the home's keys and configuration with the program just installed.
if [ "$initialised" = no ]; then
	if [ "$role" = agent ]; then
		set -- --name "$name" --listen "$listen"
		[ -z "$advertise" ] || set -- "$@" --advertise "$advertise"
		old_ifs=$IFS
		IFS='
'
		for tag in $tags; do
			set -- "$@" --tag "$tag"
		done
		IFS=$old_ifs
		act inside env "$home_variable=$home" "$executable" init "$@"
	else
		act inside env "$home_variable=$home" "$executable" init
		act inside chown -R "$user:$user" "$home"
	fi
elif [ -n "$name$advertise$tags" ] || { [ "$role" = agent ] && [ -n "$listen" ]; }; then
	say "Kept the configuration in $home: --name, --listen, --advertise and --tag apply at a first install only."
fi

if [ "$upgrade" = yes ] && init_running; then
	case $init in
		systemd) act systemctl try-restart "$service.service" ;;
		openrc) if rc-service "$service" status >/dev/null 2>&1; then act rc-service "$service" restart; fi ;;
		procd) act "/etc/init.d/$service" restart ;;
	esac
fi

say ''
if [ "$role" = agent ]; then
	if [ -f "$root$home/pins.json" ]; then
		say "Done: the agent keeps its pairing. Start (or restart) it: $(service_command restart)"
	else
		say "Next:"
		say "  1. allowlist scripts, run as the unprivileged user:  $service allow NAME /absolute/path --run-as $user"
		say "  2. pair (while \`xi-exec pair --listen HOST:PORT\` runs on the controller):  $service pair --controller HOST:PORT"
		say "  3. start it:  $(service_command start)"
	fi
else
	say "Next:"
	say "  pair agents:  su -s /bin/sh $user -c '$home_variable=$home $service pair --listen 0.0.0.0:7400'"
	say "  start the REST API on $listen:  $(service_command start)"
	say "  then a token for it:  su -s /bin/sh $user -c '$home_variable=$home $service token create --name ops --scripts SCRIPT --on all'"
fi
