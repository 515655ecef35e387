-- Places of incidents (issue 18): the point's indexes, "me too" supporters, and merged reports.
--
-- The points are WGS84 latitude/longitude (the columns of 0001). Two GiST indexes over the extensions that
-- provisioning installs in the public schema (cube, earthdistance: the embedded PostgreSQL ships them, not PostGIS):
-- the point on earthdistance's sphere for radius queries (nearby duplicates, ?near=), and the (lon, lat) point as a
-- 2-D cube for bounding boxes (?bbox=, the map). Both are partial: a report without a point is in neither.
CREATE INDEX incidents_point_earth ON incidents USING gist (public.ll_to_earth(latitude, longitude))
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;
CREATE INDEX incidents_point_lonlat ON incidents USING gist (public.cube(ARRAY[longitude, latitude]))
    WHERE latitude IS NOT NULL AND longitude IS NOT NULL;

-- How many people said "me too" (the reporter not counted); kept equal to the rows of incident_supporters.
ALTER TABLE incidents ADD COLUMN supporters integer NOT NULL DEFAULT 0 CHECK (supporters >= 0);
-- A report an official merged into another: closed with outcome 'merged', its supporters and reporter counted
-- on this one.
ALTER TABLE incidents ADD COLUMN merged_into text REFERENCES incidents (incident_id)
    CHECK (merged_into IS DISTINCT FROM incident_id);

-- One row per supporter of an incident. supporter_key: for a signed-in resident their reporter pseudonym (so a
-- person counts once); for an anonymous supporter a random id (nothing of them is kept: no address, no agent),
-- with the hash of the secret that lets them follow the report by their code. A merge copies the merged
-- report's supporters (and its reporter's pseudonym) here, under the survivor.
CREATE TABLE incident_supporters (
    incident_id         text NOT NULL REFERENCES incidents (incident_id),
    supporter_key       text NOT NULL,
    anonymous           boolean NOT NULL,
    follow_up_code      text UNIQUE,
    secret_hash         text,
    supported_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (incident_id, supporter_key),
    CHECK ((follow_up_code IS NULL) = (secret_hash IS NULL))
);
