-- runosd schema, part 11: versions (ETags) of the user and of memberships, so that every
-- single resource has an ETag and honours If-Match (API.md §1). Forward-only.

ALTER TABLE users ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE memberships ADD COLUMN version integer NOT NULL DEFAULT 1;
