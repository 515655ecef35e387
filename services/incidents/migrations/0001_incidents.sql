-- The incidents service: incident reports and crime tips (tin báo, tố giác tội phạm), their transitions,
-- police warnings, and projections of other services' events (groups, teams, cameras, residence, mediation,
-- reporters' awards).
--
-- Reporter protection: an identified reporter's identity is only in reporter_identity (AES-GCM, bound to the
-- incident); reporter_ref is a keyed pseudonym. An anonymous tip stores a hash of its secret, never the
-- secret, and no client address, user agent or file metadata.

CREATE TABLE incidents (
    incident_id         text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    category            text NOT NULL,
    is_crime_tip        boolean NOT NULL,
    state               text NOT NULL,
    outcome             text,
    address             text,
    latitude            double precision,
    longitude           double precision,
    happened_at         timestamptz,
    description         text NOT NULL,
    evidence            jsonb NOT NULL DEFAULT '[]',
    anonymous           boolean NOT NULL,
    reporter_ref        text NOT NULL,                 -- pseudonym; stable for one identified reporter
    reporter_identity   bytea,                         -- encrypted {resident_id, full_name, phone}; NULL if anonymous
    follow_up_code      text UNIQUE,                   -- anonymous tips only
    secret_hash         text,                          -- sha256 of the anonymous secret
    assignee_kind       text,
    assignee_team_id    text,
    assignee_officer    text,
    received_at         timestamptz NOT NULL,
    deadline_on         date,
    deadline_extended   boolean NOT NULL DEFAULT false,
    overdue_flagged_on  date,                          -- the deadline for which IncidentOverdue was emitted
    mediation_case_id   text,
    mediation_note      text,
    resolution_note     text,
    resolved_at         timestamptz,
    closed_at           timestamptz,
    CHECK (anonymous = (reporter_identity IS NULL)),
    CHECK (anonymous = (follow_up_code IS NOT NULL AND secret_hash IS NOT NULL))
);
CREATE INDEX incidents_group ON incidents (ward_id, group_id, received_at);
CREATE INDEX incidents_reporter ON incidents (ward_id, reporter_ref);
CREATE INDEX incidents_open_tips ON incidents (deadline_on) WHERE is_crime_tip AND state NOT IN ('resolved', 'closed');

-- Camera footage cited as evidence, at intake or later by police.
CREATE TABLE incident_footage (
    incident_id         text NOT NULL REFERENCES incidents (incident_id),
    camera_id           text NOT NULL,
    footage_from        timestamptz,
    footage_to          timestamptz,
    cited_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, camera_id)
);

-- Every transition: who (a user id, or 'reporter' / 'mediation' / 'scheduler'), when, why.
CREATE TABLE incident_transitions (
    seq                 bigserial PRIMARY KEY,
    incident_id         text NOT NULL REFERENCES incidents (incident_id),
    action              text NOT NULL,
    from_state          text,
    to_state            text NOT NULL,
    actor               text NOT NULL,
    reason              text,
    at                  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX incident_transitions_incident ON incident_transitions (incident_id, seq);

CREATE TABLE warnings (
    warning_id          text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('summons', 'admonition')),
    person              bytea NOT NULL,                -- encrypted {resident_id, full_name}: police only
    reason              text NOT NULL,
    issued_on           date NOT NULL,
    incident_id         text REFERENCES incidents (incident_id),
    recorded_by         text NOT NULL,
    recorded_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX warnings_group ON warnings (ward_id, group_id, issued_on);

-- Projections of other services' events ------------------------------------------------------------------
CREATE TABLE known_groups (
    group_id            text PRIMARY KEY,
    ward_id             text NOT NULL,
    name                text NOT NULL
);

CREATE TABLE known_teams (
    team_id             text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    kind                text NOT NULL,
    name                text
);

CREATE TABLE cameras (
    facility_id         text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    name                text NOT NULL,
    location            text NOT NULL,
    decommissioned_on   date
);

CREATE TABLE temporary_residences (
    declaration_id      text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    resident_id         text NOT NULL,
    valid_until         date,
    status              text NOT NULL CHECK (status IN ('active', 'expired', 'ended')),
    changed_on          date
);
CREATE INDEX temporary_residences_group ON temporary_residences (ward_id, group_id);

CREATE TABLE stay_notices (
    notice_id           text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    boarding_house_id   text NOT NULL,
    arrived_at          timestamptz NOT NULL,
    notified_at         timestamptz NOT NULL,
    late                boolean NOT NULL
);
CREATE INDEX stay_notices_group ON stay_notices (ward_id, group_id, arrived_at);

CREATE TABLE mediation_cases (
    case_id             text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    kind                text NOT NULL,
    origin              text,
    referral_incident_id text,
    status              text NOT NULL,
    opened_at           timestamptz,
    concluded_on        date,
    last_event_at       timestamptz NOT NULL
);
CREATE INDEX mediation_cases_group ON mediation_cases (ward_id, group_id);

-- Awards granted to a reporter (by reporter_ref): shown to them through their follow-up code and secret.
CREATE TABLE reporter_awards (
    award_id            text PRIMARY KEY,
    ward_id             text NOT NULL,
    reporter_ref        text NOT NULL,
    title               text NOT NULL,
    issuer              text NOT NULL,
    decision_number     text NOT NULL,
    decision_date       date NOT NULL,
    verification_code   text NOT NULL,
    year                integer NOT NULL,
    revoked             boolean NOT NULL DEFAULT false
);
CREATE INDEX reporter_awards_ref ON reporter_awards (ward_id, reporter_ref);
