-- A national ID number is unique among the residents of one ward, no longer across wards: the duplicate check
-- must not tell a registrar that the person is registered in another ward (an existence oracle). One person, one
-- number nationwide is enforced by the national population database, which this register does not replace; a
-- person who moved or lives in one ward and is registered in another may appear in both.
ALTER TABLE residents DROP CONSTRAINT residents_national_id_index_key;
CREATE UNIQUE INDEX residents_national_id_per_ward ON residents (ward_id, national_id_index);
