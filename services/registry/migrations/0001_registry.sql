-- The registry's own tables (danh bạ). Ids are text: ward ids are slugs ("phu-son"), the rest UUIDs made by
-- the service (or derived deterministically, for facilities registered from donations' expenses).
-- Every row carries its ward_id so that "nobody outside their ward" is one WHERE clause, not a join.

CREATE TABLE wards (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    city        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE groups (
    id          text PRIMARY KEY,
    ward_id     text NOT NULL REFERENCES wards (id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ward_id, name)
);

CREATE TABLE households (
    id                text PRIMARY KEY,
    ward_id           text NOT NULL REFERENCES wards (id),
    group_id          text NOT NULL REFERENCES groups (id),
    address           text NOT NULL,
    head_resident_id  text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_group ON households (ward_id, group_id);

CREATE TABLE residents (
    id                   text PRIMARY KEY,
    ward_id              text NOT NULL REFERENCES wards (id),
    household_id         text NOT NULL REFERENCES households (id),
    full_name            text NOT NULL,
    birth_date           date,
    sex                  text NOT NULL CHECK (sex IN ('female', 'male')),
    phone                text,
    -- The national ID number (số định danh cá nhân): AES-GCM ciphertext bound to the row, and a keyed
    -- blind index so that uniqueness holds without the number ever being stored in the clear.
    national_id_cipher   bytea,
    national_id_index    text UNIQUE,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX residents_household ON residents (household_id);
ALTER TABLE households ADD CONSTRAINT households_head FOREIGN KEY (head_resident_id) REFERENCES residents (id);

CREATE TABLE teams (
    id              text PRIMARY KEY,
    ward_id         text NOT NULL REFERENCES wards (id),
    group_id        text NOT NULL REFERENCES groups (id),
    kind            text NOT NULL CHECK (kind IN ('anxh', 'security_order', 'mediation', 'fire_prevention', 'mobilisation')),
    name            text NOT NULL,
    formed_on       date NOT NULL,
    formation_act   text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_group ON teams (ward_id, group_id);

CREATE TABLE team_members (
    id              bigserial PRIMARY KEY,
    team_id         text NOT NULL REFERENCES teams (id),
    resident_id     text NOT NULL REFERENCES residents (id),
    role            text NOT NULL CHECK (role IN ('leader', 'deputy', 'member')),
    appointed_on    date NOT NULL,
    appointment_act text,
    left_on         date
);
-- One active membership per person and team; history (left_on set) is kept.
CREATE UNIQUE INDEX team_members_active ON team_members (team_id, resident_id) WHERE left_on IS NULL;
-- One active leader per team (tổ trưởng).
CREATE UNIQUE INDEX team_members_one_leader ON team_members (team_id) WHERE left_on IS NULL AND role = 'leader';

CREATE TABLE facilities (
    id                     text PRIMARY KEY,
    ward_id                text NOT NULL REFERENCES wards (id),
    group_id               text NOT NULL REFERENCES groups (id),
    kind                   text NOT NULL CHECK (kind IN ('security_camera', 'fire_point')),
    name                   text NOT NULL,
    location               text NOT NULL,
    installed_on           date,
    funded_by_campaign_id  text,
    funded_by_expense_id   text,
    decommissioned_on      date,
    decommission_reason    text,
    created_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX facilities_group ON facilities (ward_id, group_id);

CREATE TABLE boarding_houses (
    id                    text PRIMARY KEY,
    ward_id               text NOT NULL REFERENCES wards (id),
    group_id              text NOT NULL REFERENCES groups (id),
    name                  text NOT NULL,
    address               text NOT NULL,
    landlord_resident_id  text NOT NULL REFERENCES residents (id),
    rooms                 text[] NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE boarding_house_checks (
    id                 bigserial PRIMARY KEY,
    boarding_house_id  text NOT NULL REFERENCES boarding_houses (id),
    checked_on         date NOT NULL,
    checked_by         text NOT NULL,
    notes              text
);
CREATE INDEX boarding_house_checks_on ON boarding_house_checks (boarding_house_id, checked_on);

-- Temporary residence (tạm trú) and temporary absence (tạm vắng) declarations.
CREATE TABLE declarations (
    id                 text PRIMARY KEY,
    ward_id            text NOT NULL REFERENCES wards (id),
    group_id           text NOT NULL REFERENCES groups (id),
    resident_id        text NOT NULL REFERENCES residents (id),
    kind               text NOT NULL CHECK (kind IN ('temporary_residence', 'absence')),
    status             text NOT NULL CHECK (status IN ('active', 'expired', 'ended')),
    valid_from         date NOT NULL,
    valid_until        date NOT NULL CHECK (valid_until > valid_from),
    boarding_house_id  text REFERENCES boarding_houses (id),
    room               text,
    absence_case       text CHECK (absence_case IN ('bail_or_probation', 'military_age', 'other')),
    destination        text,
    ended_on           date,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX declarations_resident ON declarations (resident_id, kind);
CREATE INDEX declarations_expiring ON declarations (valid_until) WHERE status = 'active';

-- Stay notices (thông báo lưu trú) filed by boarding-house owners.
CREATE TABLE stay_notices (
    id                  text PRIMARY KEY,
    ward_id             text NOT NULL REFERENCES wards (id),
    group_id            text NOT NULL REFERENCES groups (id),
    boarding_house_id   text NOT NULL REFERENCES boarding_houses (id),
    lodger_resident_id  text REFERENCES residents (id),
    lodger_name         text NOT NULL,
    room                text,
    arrived_at          timestamptz NOT NULL,
    notified_at         timestamptz NOT NULL,
    late                boolean NOT NULL
);
CREATE INDEX stay_notices_house ON stay_notices (boarding_house_id, lodger_resident_id);
