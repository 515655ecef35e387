-- The notify service's own schema (issue 17, docs/services/notify.md): who a person is (projected from identity's
-- account events), their channels and preferences, one notification per fact per person, and the deliveries the
-- worker (services/notify/delivery.py) sends. Then the projections of other services' facts that routing needs:
-- tips and their officers, teams and their leaders, groups, temporary residences, boarding houses.
-- The outbox (audit heads), the inbox and the idempotency records come from shared/migrations, as in every service.

-- who a person is, from identity account events (ids and roles only; no names)
create table people (person_id text primary key, ward_id text not null, roles text[] not null,
  resident_id text, team_ids text[] not null default '{}', disabled boolean not null default false,
  updated_at timestamptz not null);
create index people_ward on people (ward_id);
create index people_resident on people (resident_id) where resident_id is not null;
-- a person's channels; the address sealed (shared.idempotency.Sealer, purpose "contact", context person_id|kind)
create table contacts (person_id text not null, channel text not null check (channel in ('email','sms','zalo')),
  address_sealed bytea not null, verified_at timestamptz, primary key (person_id, channel));
create table preferences (person_id text not null, kind text not null, channels text[] not null,
  digest boolean not null default false, primary key (person_id, kind));
-- one per fact per person: fact_key is stable for the fact (e.g. 'incidents.overdue:<incident_id>:<deadline>')
create table notifications (notification_id text primary key, person_id text not null, ward_id text not null,
  kind text not null, fact_key text not null, urgent boolean not null, title text not null, body text not null,
  link text not null, created_at timestamptz not null, read_at timestamptz,
  unique (person_id, fact_key));
create table deliveries (delivery_id text primary key, notification_id text not null references notifications,
  channel text not null check (channel in ('email','sms','zalo')),
  status text not null check (status in ('pending','sending','sent','failed','skipped')),
  not_before timestamptz not null, digest boolean not null default false, attempts int not null default 0,
  last_error text, provider_message_id text, sent_at timestamptz, updated_at timestamptz not null,
  unique (notification_id, channel));
create index deliveries_due on deliveries (not_before) where status = 'pending';

-- Beyond the contract's seam: the inbox's order and the verification of contact points.
CREATE INDEX notifications_inbox ON notifications (person_id, created_at DESC, notification_id DESC);
CREATE INDEX notifications_unread ON notifications (person_id) WHERE read_at IS NULL;

-- A contact point waiting for its 6-digit code: the SHA-256 of the code (bound to the person and channel), when it
-- expires, and how many wrong codes were tried (at 5 the code is void).
CREATE TABLE contact_codes (
    person_id            text NOT NULL,
    channel              text NOT NULL,
    code_hash            bytea NOT NULL,
    expires_at           timestamptz NOT NULL,
    attempts             integer NOT NULL DEFAULT 0,
    PRIMARY KEY (person_id, channel)
);

-- Projections (ids, dates and roles only: nothing here names anyone).
-- An incident (any: assignment) or crime tip (deadlines): who it is assigned to, its deadline, whether it is done.
CREATE TABLE tips (
    incident_id          text PRIMARY KEY,
    ward_id              text NOT NULL,
    group_id             text NOT NULL,
    category             text,
    is_crime_tip         boolean NOT NULL DEFAULT false,
    deadline_on          date,
    officer_ref          text,
    team_id              text,
    closed               boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tips_deadline ON tips (deadline_on) WHERE is_crime_tip AND NOT closed;

-- Registry: groups (their names may appear in a message), teams and their members' roles.
CREATE TABLE groups (
    group_id             text PRIMARY KEY,
    ward_id              text NOT NULL,
    name                 text NOT NULL
);
CREATE TABLE teams (
    team_id              text PRIMARY KEY,
    ward_id              text NOT NULL,
    group_id             text NOT NULL,
    kind                 text NOT NULL
);
CREATE TABLE team_members (
    team_id              text NOT NULL,
    resident_id          text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('leader', 'deputy', 'member')),
    PRIMARY KEY (team_id, resident_id)
);
CREATE INDEX team_members_resident ON team_members (resident_id);

-- Temporary residences (tạm trú) and when they end; boarding houses and their landlords.
CREATE TABLE residences (
    declaration_id       text PRIMARY KEY,
    ward_id              text NOT NULL,
    resident_id          text NOT NULL,
    group_id             text NOT NULL,
    valid_until          date NOT NULL,
    ended                boolean NOT NULL DEFAULT false
);
CREATE INDEX residences_until ON residences (valid_until) WHERE NOT ended;
CREATE TABLE boarding_houses (
    boarding_house_id    text PRIMARY KEY,
    ward_id              text NOT NULL,
    group_id             text NOT NULL,
    landlord_resident_id text NOT NULL
);
