#!/bin/sh
# Entry point of the reference Compose images. The first start makes the home on its volume (the
# controller's CA and keys; the agent's configuration from XI_EXEC_AGENT_NAME and
# XI_EXEC_AGENT_TAGS); then the program runs in the foreground as PID 1. An agent that is not paired
# yet waits for `docker compose exec NAME xi-exec-agent pair --controller controller:7400`.
set -eu

case ${1:-} in
	controller)
		[ -f "$XI_EXEC_HOME/ca.pem" ] || xi-exec init
		exec xi-exec serve --listen "${XI_EXEC_SERVE_LISTEN:-0.0.0.0:8443}" ;;
	agent)
		name=${XI_EXEC_AGENT_NAME:?set XI_EXEC_AGENT_NAME to the agent\'s name}
		if [ ! -f "$XI_EXEC_AGENT_HOME/config.json" ]; then
			set --
			for tag in ${XI_EXEC_AGENT_TAGS:-}; do
				set -- "$@" --tag "$tag"
			done
			xi-exec-agent init --name "$name" --listen 0.0.0.0:7441 --advertise "$name:7441" "$@"
		fi
		if [ ! -f "$XI_EXEC_AGENT_HOME/pins.json" ]; then
			echo "xi-exec-agent: $name is not paired yet; waiting for: docker compose exec $name xi-exec-agent pair --controller controller:7400"
			while [ ! -f "$XI_EXEC_AGENT_HOME/pins.json" ]; do
				sleep 1
			done
		fi
		exec xi-exec-agent start ;;
	*)
		echo "usage: xi-exec-entrypoint controller|agent" >&2
		exit 2 ;;
esac
