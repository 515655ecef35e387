-- Evidence files on incidents (issue 18, docs/evidence.md): the file itself is in object storage (a local directory
-- or an S3 bucket, under storage_key), cleaned of its metadata before it was stored; sha256 and size are those of
-- the stored bytes, which are the bytes served. Nothing of an anonymous uploader is kept: uploaded_by is
-- 'anonymous' (a tipster with the follow-up code and secret), 'reporter' (the identified reporter), or the
-- subject of the police officer or official who uploaded it; never a file name, a client address or a device.

-- The registry's donations campaign that paid for a camera (FacilityRegistered.funded_by_campaign_id).
ALTER TABLE cameras ADD COLUMN funded_by_campaign_id text;

CREATE TABLE evidence_files (
    evidence_id         text PRIMARY KEY,
    incident_id         text NOT NULL REFERENCES incidents (incident_id),
    ward_id             text NOT NULL,
    media_type          text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('image', 'video', 'document')),
    size                bigint NOT NULL CHECK (size > 0),
    sha256              text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key         text NOT NULL UNIQUE,
    metadata_removed    text[] NOT NULL DEFAULT '{}',
    uploaded_by         text NOT NULL,
    uploaded_at         timestamptz NOT NULL,
    camera_id           text,                          -- a registered camera of the ward (footage)
    campaign_id         text,                          -- the campaign that paid for that camera, when known
    footage_from        timestamptz,
    footage_to          timestamptz,
    CHECK (camera_id IS NOT NULL OR (footage_from IS NULL AND footage_to IS NULL AND campaign_id IS NULL)),
    CHECK (footage_from IS NULL OR footage_to IS NULL OR footage_from <= footage_to)
);
CREATE INDEX evidence_files_incident ON evidence_files (incident_id, uploaded_at, evidence_id);

-- The chain of custody: every upload, list view and download of a file, who (as above), when, and the hash of
-- what was handled. Insert-only, like the audit trail (each act is also an audit row, in the keyed chain).
CREATE TABLE evidence_custody (
    seq                 bigserial PRIMARY KEY,
    evidence_id         text NOT NULL REFERENCES evidence_files (evidence_id),
    incident_id         text NOT NULL,
    action              text NOT NULL CHECK (action IN ('uploaded', 'listed', 'downloaded')),
    actor               text NOT NULL,
    actor_roles         text[] NOT NULL,
    sha256              text NOT NULL,
    at                  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX evidence_custody_evidence ON evidence_custody (evidence_id, seq);

REVOKE UPDATE, DELETE, TRUNCATE ON evidence_files, evidence_custody FROM {{app_role}};
