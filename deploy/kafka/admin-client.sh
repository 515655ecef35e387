#!/usr/bin/env bash
# Runs a command as the Kafka brokers' super user `admin` (SASL/PLAIN on the brokers' internal listener, 9094):
# writes the client settings to a private temporary file, exports COMMAND_CONFIG pointing at it, runs the
# command, and removes the file. The password comes from WARD_KAFKA_ADMIN_PASSWORD, never from an argument
# (arguments show in the process list). Used by the kafka-init service and by the brokers' healthcheck.
#   admin-client.sh bash /deploy/create-topics.sh
set -euo pipefail
: "${WARD_KAFKA_ADMIN_PASSWORD:?set WARD_KAFKA_ADMIN_PASSWORD}"
umask 077
conf=$(mktemp)
trap 'rm -f "$conf"' EXIT
pw=${WARD_KAFKA_ADMIN_PASSWORD//\\/\\\\}
pw=${pw//\"/\\\"}
{
  echo "security.protocol=SASL_PLAINTEXT"
  echo "sasl.mechanism=PLAIN"
  echo "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$pw\";"
} > "$conf"
export COMMAND_CONFIG="$conf"
"$@"
