-- Places in the registry (issue 18): each residential group's area (a GeoJSON Polygon or MultiPolygon, WGS84),
-- and WGS84 coordinates on facilities and boarding houses. The embedded PostgreSQL ships no PostGIS: areas are
-- stored as GeoJSON with their bounding box beside them, and points are indexed with PostgreSQL's built-in
-- geometric types (GiST on point(longitude, latitude)), so that a bbox filter (`<@ box(...)`) uses an index
-- without any extension.

CREATE TABLE group_areas (
    group_id      text PRIMARY KEY REFERENCES groups (id),
    ward_id       text NOT NULL REFERENCES wards (id),
    geometry      jsonb NOT NULL,
    vertex_count  integer NOT NULL CHECK (vertex_count >= 4),
    min_lon       double precision NOT NULL CHECK (min_lon BETWEEN -180 AND 180),
    min_lat       double precision NOT NULL CHECK (min_lat BETWEEN -90 AND 90),
    max_lon       double precision NOT NULL CHECK (max_lon BETWEEN -180 AND 180),
    max_lat       double precision NOT NULL CHECK (max_lat BETWEEN -90 AND 90),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (min_lon <= max_lon AND min_lat <= max_lat)
);
CREATE INDEX group_areas_ward ON group_areas (ward_id);
CREATE INDEX group_areas_box ON group_areas USING gist (box(point(min_lon, min_lat), point(max_lon, max_lat)));

ALTER TABLE facilities
    ADD COLUMN latitude double precision,
    ADD COLUMN longitude double precision,
    ADD CONSTRAINT facilities_place CHECK ((latitude IS NULL) = (longitude IS NULL)
                                           AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180);
CREATE INDEX facilities_point ON facilities USING gist (point(longitude, latitude));

ALTER TABLE boarding_houses
    ADD COLUMN latitude double precision,
    ADD COLUMN longitude double precision,
    ADD CONSTRAINT boarding_houses_place CHECK ((latitude IS NULL) = (longitude IS NULL)
                                                AND latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180);
CREATE INDEX boarding_houses_point ON boarding_houses USING gist (point(longitude, latitude));
