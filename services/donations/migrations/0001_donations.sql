-- The donations service: mobilisation teams (a projection of the registry's events), campaigns, the
-- append-only ledger, pledges, expenses and their approvals. Amounts are bigint whole đồng.

-- Projection of registry teams (only what collecting needs: kind, ward, who is a current member).
CREATE TABLE teams (
    team_id         text PRIMARY KEY,
    ward_id         text NOT NULL,
    group_id        text NOT NULL,
    kind            text NOT NULL,
    name            text
);

CREATE TABLE team_members (
    team_id         text NOT NULL REFERENCES teams (team_id),
    resident_id     text NOT NULL,
    full_name       text NOT NULL,
    role            text NOT NULL,
    active          boolean NOT NULL,
    PRIMARY KEY (team_id, resident_id)
);

CREATE TABLE campaigns (
    campaign_id          text PRIMARY KEY,
    ward_id              text NOT NULL,
    group_id             text NOT NULL,
    name                 text NOT NULL,
    purpose              text NOT NULL,
    target_vnd           bigint NOT NULL CHECK (target_vnd > 0),
    starts_on            date NOT NULL,
    ends_on              date NOT NULL CHECK (ends_on >= starts_on),
    organiser            text NOT NULL,
    -- the households' vote that decided it (biên bản họp hộ dân): in favour by more than half of the households
    vote_record_ref      text NOT NULL,
    vote_held_on         date NOT NULL,
    households_total     integer NOT NULL CHECK (households_total > 0),
    households_in_favour integer NOT NULL CHECK (households_in_favour * 2 > households_total),
    households_against   integer NOT NULL CHECK (households_against >= 0),
    households_abstained integer NOT NULL CHECK (households_abstained >= 0),
    CHECK (households_in_favour + households_against + households_abstained <= households_total),
    opened_by            text NOT NULL,
    opened_at            timestamptz NOT NULL DEFAULT now(),
    closed_on            date,
    -- set once, by the contribution that crossed the target, under the campaign's row lock
    target_reached_on    date
);

CREATE TABLE campaign_teams (
    campaign_id     text NOT NULL REFERENCES campaigns (campaign_id),
    team_id         text NOT NULL REFERENCES teams (team_id),
    PRIMARY KEY (campaign_id, team_id)
);

CREATE TABLE pledges (
    pledge_id       text PRIMARY KEY,
    campaign_id     text NOT NULL REFERENCES campaigns (campaign_id),
    donor_kind      text NOT NULL,
    donor_ref       text,
    public_name     text,
    team_id         text REFERENCES teams (team_id),
    total_vnd       bigint NOT NULL CHECK (total_vnd > 0),
    recorded_by     text NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pledge_instalments (
    pledge_id       text NOT NULL REFERENCES pledges (pledge_id),
    number          integer NOT NULL CHECK (number >= 1),
    due_on          date NOT NULL,
    amount_vnd      bigint NOT NULL CHECK (amount_vnd > 0),
    PRIMARY KEY (pledge_id, number)
);

-- An overdue instalment is flagged once (the row is the flag; the job inserts it with ON CONFLICT DO NOTHING).
CREATE TABLE instalment_overdue_flags (
    pledge_id       text NOT NULL,
    number          integer NOT NULL,
    flagged_on      date NOT NULL,
    PRIMARY KEY (pledge_id, number),
    FOREIGN KEY (pledge_id, number) REFERENCES pledge_instalments (pledge_id, number)
);

-- The ledger (sổ thu): contributions and the entries that reverse them. Append-only: a correction is a new
-- reversing row linked to the original, never an edit. amount_vnd is signed: + contribution, - reversal.
CREATE TABLE ledger_entries (
    seq                      bigserial PRIMARY KEY,
    entry_id                 text NOT NULL UNIQUE,
    campaign_id              text NOT NULL REFERENCES campaigns (campaign_id),
    entry_kind               text NOT NULL CHECK (entry_kind IN ('contribution', 'refund', 'void')),
    amount_vnd               bigint NOT NULL,
    channel                  text NOT NULL CHECK (channel IN ('cash', 'bank_transfer', 'in_kind')),
    team_id                  text REFERENCES teams (team_id),
    collected_by_resident_id text,
    donor_kind               text NOT NULL CHECK (donor_kind IN ('household', 'resident', 'organisation', 'anonymous')),
    donor_ref                text,          -- household id, resident id or organisation name; never in an event
    public_name              text,          -- for the honour roll, only when the donor asked for it
    receipt_number           text,
    in_kind_description      text,
    received_on              date NOT NULL,
    pledge_id                text,
    instalment_number        integer,
    reverses_entry_id        text REFERENCES ledger_entries (entry_id),
    reason                   text,
    recorded_by              text NOT NULL,
    recorded_at              timestamptz NOT NULL DEFAULT now(),
    CHECK (
        (entry_kind = 'contribution' AND reverses_entry_id IS NULL AND receipt_number IS NOT NULL AND (
            (channel = 'in_kind' AND amount_vnd = 0 AND in_kind_description IS NOT NULL)
            OR (channel <> 'in_kind' AND amount_vnd > 0)))
        OR (entry_kind IN ('refund', 'void') AND reverses_entry_id IS NOT NULL AND amount_vnd <= 0
            AND reason IS NOT NULL)
    ),
    CHECK (donor_kind <> 'anonymous' OR (donor_ref IS NULL AND public_name IS NULL)),
    FOREIGN KEY (pledge_id, instalment_number) REFERENCES pledge_instalments (pledge_id, number)
);
CREATE INDEX ledger_by_campaign ON ledger_entries (campaign_id, seq);
-- A receipt number is unique within its campaign.
CREATE UNIQUE INDEX ledger_receipt_unique ON ledger_entries (campaign_id, receipt_number)
    WHERE entry_kind = 'contribution';
-- A contribution is reversed at most once.
CREATE UNIQUE INDEX ledger_reversed_once ON ledger_entries (reverses_entry_id) WHERE reverses_entry_id IS NOT NULL;
-- An instalment is paid by one (unreversed) contribution; enforced in the command, indexed for the lookups.
CREATE INDEX ledger_by_instalment ON ledger_entries (pledge_id, instalment_number) WHERE pledge_id IS NOT NULL;

-- Expenses (khoản chi): proposed with their invoice, then approved by a ward official. Both tables are
-- insert-only too: approval is a row of its own, so nothing about money is ever updated.
CREATE TABLE expenses (
    expense_id      text PRIMARY KEY,
    campaign_id     text NOT NULL REFERENCES campaigns (campaign_id),
    item            text NOT NULL,
    amount_vnd      bigint NOT NULL CHECK (amount_vnd > 0),
    invoice_ref     text NOT NULL,
    paid_on         date NOT NULL,
    cameras         jsonb NOT NULL DEFAULT '[]',
    proposed_by     text NOT NULL,
    proposed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE expense_approvals (
    expense_id      text PRIMARY KEY REFERENCES expenses (expense_id),
    approved_by     text NOT NULL,
    approval_ref    text NOT NULL,
    approved_at     timestamptz NOT NULL DEFAULT now()
);

-- The database refuses to change money already written, whoever asks: the application role lacks the
-- privileges, and a trigger stops the schema owner too (a second guard against a mistaken grant or script).
REVOKE UPDATE, DELETE, TRUNCATE ON ledger_entries, expenses, expense_approvals FROM {{app_role}};

CREATE FUNCTION refuse_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the % table is append-only: record a reversing entry instead', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER expenses_append_only BEFORE UPDATE OR DELETE ON expenses
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
CREATE TRIGGER expense_approvals_append_only BEFORE UPDATE OR DELETE ON expense_approvals
    FOR EACH ROW EXECUTE FUNCTION refuse_ledger_change();
