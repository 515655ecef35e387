#!/bin/sh
# The evidence bucket and the incidents service's own MinIO user, allowed only to put, get and delete objects in
# it (deploy/minio/evidence-policy.json): the root credentials stay with this one-shot step. Idempotent.
set -eu
mc alias set ward http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing ward/ward-evidence
mc anonymous set none ward/ward-evidence
mc admin policy create ward incidents-evidence /deploy/evidence-policy.json
mc admin user add ward "$INCIDENTS_EVIDENCE_ACCESS_KEY" "$INCIDENTS_EVIDENCE_SECRET_KEY"
mc admin policy attach ward incidents-evidence --user "$INCIDENTS_EVIDENCE_ACCESS_KEY" 2>/dev/null || true
echo "minio: bucket ward-evidence and user for incidents ready"
