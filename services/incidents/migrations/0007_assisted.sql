-- Assisted intake (issue 17): a team leader files a report on behalf of a resident of one of their teams' groups.
--
-- The resident is the reporter (their identity in reporter_identity, encrypted, as for their own report; their
-- pseudonym in reporter_ref); the leader who typed it in is entered_by (their account id: the trail of who
-- entered a report, shown to the police of the ward only). Nothing else about the resident is kept here.
ALTER TABLE incidents ADD COLUMN assisted boolean NOT NULL DEFAULT false;
ALTER TABLE incidents ADD COLUMN entered_by text;
ALTER TABLE incidents ADD CONSTRAINT incidents_assisted_entered_by
    CHECK (assisted = (entered_by IS NOT NULL) AND NOT (assisted AND anonymous));

-- Which residential group a registered resident lives in (registry's ResidentRegistered / ResidentMoved): ids
-- only, never the name the event carries. A leader may file only for a resident of a group their teams work in.
-- last_event_at: an older event (by occurrence) never overwrites a newer group.
CREATE TABLE known_residents (
    resident_id         text PRIMARY KEY,
    ward_id             text NOT NULL,
    group_id            text NOT NULL,
    last_event_at       timestamptz NOT NULL
);
