-- The registry's households, per residential group (a projection of HouseholdRegistered and
-- HouseholdHeadChanged): a campaign's households' vote is checked against the number the registry holds for
-- the group, not a number the caller states. One row per household (ids only, no address), so a redelivered
-- event counts once. The registry has no command that removes a household or moves it to another group.
CREATE TABLE group_households (
    household_id    text PRIMARY KEY,
    ward_id         text NOT NULL,
    group_id        text NOT NULL
);
CREATE INDEX group_households_by_group ON group_households (ward_id, group_id);

-- The teams credited with a campaign reaching its target, each once: those with a positive net collection when
-- it was reached (CampaignTargetReached.team_totals), then each team whose collection turns positive later
-- (CampaignTeamCredited).
CREATE TABLE campaign_team_credits (
    campaign_id     text NOT NULL REFERENCES campaigns (campaign_id),
    team_id         text NOT NULL REFERENCES teams (team_id),
    total_vnd       bigint NOT NULL CHECK (total_vnd > 0),
    credited_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, team_id)
);

-- Campaigns opened from now on record the registry's count of households in households_total; their vote's
-- check is the same as before (more than half of them in favour).
COMMENT ON COLUMN campaigns.households_total IS
    'The households of the group the registry held when the campaign opened (the vote is checked against it)';
