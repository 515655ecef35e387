-- The mediation service's own schema: projections of the registry (mediation teams, their members, residents'
-- households) and the cases (vụ việc hòa giải) with their parties, mediators, sessions and follow-ups.

-- Projection of the registry's mediation teams (tổ hòa giải). Other kinds of team are not kept.
CREATE TABLE teams (
    team_id              text PRIMARY KEY,
    ward_id              text NOT NULL,
    group_id             text NOT NULL,
    name                 text,
    registry_compliant   boolean NOT NULL DEFAULT false,
    registry_issues      jsonb NOT NULL DEFAULT '[]',
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_group ON teams (ward_id, group_id);

-- Members of a mediation team are its mediators (hòa giải viên); the leader is the tổ trưởng.
CREATE TABLE team_members (
    team_id              text NOT NULL REFERENCES teams (team_id),
    resident_id          text NOT NULL,
    household_id         text NOT NULL,
    full_name            text NOT NULL,
    sex                  text NOT NULL CHECK (sex IN ('female', 'male')),
    role                 text NOT NULL CHECK (role IN ('leader', 'deputy', 'member')),
    active               boolean NOT NULL DEFAULT true,
    PRIMARY KEY (team_id, resident_id)
);

-- Residents' households, so that a mediator of a party's household can be excluded.
CREATE TABLE residents (
    resident_id          text PRIMARY KEY,
    ward_id              text NOT NULL,
    household_id         text NOT NULL,
    group_id             text NOT NULL,
    full_name            text NOT NULL
);

CREATE TABLE cases (
    case_id              text PRIMARY KEY,
    ward_id              text NOT NULL,
    group_id             text NOT NULL,
    team_id              text REFERENCES teams (team_id),
    referral_incident_id text UNIQUE,                 -- one case per referred incident, whatever the redelivery
    origin               text NOT NULL CHECK (origin IN ('party_request', 'referral', 'mediator_initiative')),
    kind                 text NOT NULL,
    summary              text NOT NULL,
    status               text NOT NULL,
    received_at          timestamptz NOT NULL,
    received_on          date NOT NULL,               -- the ward's calendar date (Asia/Ho_Chi_Minh)
    assignment_due       date NOT NULL,               -- 2 working days after receipt (Art. 20)
    refusal_ground       text,
    refusal_reason       text,
    agreement            text,
    carry_out_how        text,
    carry_out_by         date,
    demands              text,
    directed_to          text,
    withdrawal_reason    text,
    concluded_on         date,
    notes                text,
    opened_by            text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_team_year ON cases (team_id, received_on);
CREATE INDEX cases_ward ON cases (ward_id, received_on);

CREATE TABLE case_parties (
    case_id              text NOT NULL REFERENCES cases (case_id),
    position             integer NOT NULL,
    resident_id          text,
    household_id         text,
    display_name         text NOT NULL,
    PRIMARY KEY (case_id, position)
);
CREATE INDEX case_parties_resident ON case_parties (resident_id);

CREATE TABLE case_mediators (
    case_id              text NOT NULL REFERENCES cases (case_id),
    mediator_id          text NOT NULL,
    full_name            text NOT NULL,
    chosen_by_parties    boolean NOT NULL,
    assigned_on          date NOT NULL,
    late                 boolean NOT NULL,
    PRIMARY KEY (case_id, mediator_id)
);

CREATE TABLE sessions (
    session_id           text PRIMARY KEY,
    case_id              text NOT NULL REFERENCES cases (case_id),
    held_at              timestamptz NOT NULL,
    place                text,
    mediator_ids         jsonb NOT NULL,
    parties_present      jsonb NOT NULL,               -- party positions
    invitees             jsonb NOT NULL,               -- [{name, relation}]: relatives, respected persons
    notes                text
);
CREATE INDEX sessions_case ON sessions (case_id, held_at);

CREATE TABLE follow_ups (
    follow_up_id         text PRIMARY KEY,
    case_id              text NOT NULL REFERENCES cases (case_id),
    checked_on           date NOT NULL,
    progress             text NOT NULL CHECK (progress IN ('carried_out', 'partly_carried_out', 'not_carried_out')),
    notes                text
);
CREATE INDEX follow_ups_case ON follow_ups (case_id, checked_on);
