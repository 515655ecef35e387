-- The awards service's own tables (thi đua, khen thưởng). Every row carries its ward_id.

-- Names from registry events, so that a certificate can name its recipient without asking the registry.
-- ref_kind: resident | team | group. Reporters are never here: awards knows them only by reporter_ref.
CREATE TABLE names (
    ward_id     text NOT NULL,
    ref_kind    text NOT NULL CHECK (ref_kind IN ('ward', 'resident', 'team', 'group')),
    ref         text NOT NULL,
    name        text NOT NULL,
    team_kind   text,
    group_id    text,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (ward_id, ref_kind, ref)
);

-- Cameras (registry facilities), to credit the residential group whose cameras helped solve a case.
CREATE TABLE facilities (
    ward_id                 text NOT NULL,
    facility_id             text NOT NULL,
    group_id                text NOT NULL,
    kind                    text NOT NULL,
    funded_by_campaign_id   text,
    PRIMARY KEY (ward_id, facility_id)
);

-- Achievements (thành tích): one holder's record of one kind in one year (and scope, e.g. a campaign).
CREATE TABLE achievements (
    achievement_id  text PRIMARY KEY,
    ward_id         text NOT NULL,
    kind            text NOT NULL,
    holder_kind     text NOT NULL CHECK (holder_kind IN ('individual', 'collective', 'reporter')),
    holder_ref      text NOT NULL,
    group_id        text,
    year            integer NOT NULL,
    scope           text NOT NULL DEFAULT '',
    count           integer NOT NULL DEFAULT 0,
    amount_vnd      bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ward_id, kind, holder_kind, holder_ref, year, scope)
);

-- The facts behind an achievement, each with the id of the event that proves it. Keyed by the fact (a case,
-- an incident, a contribution), so the same fact delivered again under another event id counts once.
CREATE TABLE achievement_facts (
    achievement_id  text NOT NULL REFERENCES achievements (achievement_id),
    fact_key        text NOT NULL,
    event_id        text NOT NULL,
    weight          integer NOT NULL DEFAULT 1,
    amount_vnd      bigint NOT NULL DEFAULT 0,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (achievement_id, fact_key)
);

-- Issuing authorities (cấp khen thưởng) are configuration: their levels changed in 2025.
CREATE TABLE issuers (
    ward_id         text NOT NULL,
    issuer          text NOT NULL CHECK (issuer IN ('ward_chairman', 'city_chairman')),
    title           text NOT NULL,          -- e.g. "Chủ tịch Ủy ban nhân dân thành phố Thanh Hóa"
    authority       text NOT NULL,          -- e.g. "Ủy ban nhân dân thành phố Thanh Hóa"
    signer_name     text,
    valid_from      date NOT NULL,
    valid_until     date,
    PRIMARY KEY (ward_id, issuer, valid_from)
);

-- Criteria configured by officials per ward and year.
CREATE TABLE criteria (
    criterion_id        text PRIMARY KEY,
    ward_id             text NOT NULL,
    year                integer NOT NULL,
    achievement_kind    text NOT NULL,
    holder_kind         text NOT NULL,
    min_count           integer NOT NULL DEFAULT 0,
    min_amount_vnd      bigint NOT NULL DEFAULT 0,
    title               text NOT NULL,
    issuer              text NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX criteria_ward_year ON criteria (ward_id, year);

CREATE TABLE nominations (
    nomination_id       text PRIMARY KEY,
    ward_id             text NOT NULL,
    year                integer NOT NULL,
    recipient_kind      text NOT NULL,
    recipient_ref       text NOT NULL,
    recipient_name      text,
    title               text NOT NULL,
    issuer              text NOT NULL,
    origin              text NOT NULL CHECK (origin IN ('criterion', 'manual')),
    criterion_id        text REFERENCES criteria (criterion_id),
    evidence_note       text,
    evidence_event_ids  text[] NOT NULL DEFAULT '{}',
    status              text NOT NULL CHECK (status IN ('proposed', 'reviewed', 'approved', 'rejected')),
    council_minutes_ref text,
    decision_number     text,
    decision_date       date,
    rejection_reason    text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nominations_ward_year ON nominations (ward_id, year);

-- The achievements a nomination rests on. While a nomination is open or approved it holds its achievements:
-- no second nomination may rest on them (a rejected one lets them go).
CREATE TABLE nomination_achievements (
    nomination_id   text NOT NULL REFERENCES nominations (nomination_id),
    achievement_id  text NOT NULL REFERENCES achievements (achievement_id),
    active          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (nomination_id, achievement_id)
);
CREATE UNIQUE INDEX nomination_achievements_one_active
    ON nomination_achievements (achievement_id) WHERE active;

CREATE TABLE awards (
    award_id            text PRIMARY KEY,
    ward_id             text NOT NULL,
    nomination_id       text NOT NULL UNIQUE REFERENCES nominations (nomination_id),
    year                integer NOT NULL,
    recipient_kind      text NOT NULL,
    recipient_ref       text NOT NULL,
    recipient_name      text,
    claimed_name        text,               -- a reporter's chosen display name, only if they claim it
    title               text NOT NULL,
    issuer              text NOT NULL,
    issuer_title        text NOT NULL,
    issuer_authority    text NOT NULL,
    signer_name         text,
    decision_number     text NOT NULL,
    decision_date       date NOT NULL,
    verification_code   text NOT NULL UNIQUE,
    status              text NOT NULL CHECK (status IN ('granted', 'revoked')),
    revoked_reason      text,
    revoked_on          date,
    certificate_pdf     bytea,
    certificate_sha256  text,
    granted_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX awards_ward_year ON awards (ward_id, year);

-- Law on Emulation and Commendation: one achievement is rewarded once. The unique key is the rule.
CREATE TABLE award_achievements (
    award_id        text NOT NULL REFERENCES awards (award_id),
    achievement_id  text NOT NULL UNIQUE REFERENCES achievements (achievement_id),
    PRIMARY KEY (award_id, achievement_id)
);
