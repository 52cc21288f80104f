-- runosd schema, part 16: users' own VPN devices on wg1 (API.md §2, docs/vpn.md). A device is a
-- WireGuard public key of a member's laptop with an address of 172.24.200.0/21 (host 1-2046:
-- 172.24.200.1-172.24.207.254), smallest free per account, and the clusters it reaches. The
-- control-plane nodes of a cluster serve wg1: they report its key and endpoint. Forward-only.

ALTER TABLE nodes
    ADD COLUMN wg1_pub_key  text NOT NULL DEFAULT '',
    ADD COLUMN wg1_endpoint text NOT NULL DEFAULT '';

CREATE TABLE vpn_devices (
    aid        text NOT NULL,
    id         text NOT NULL CHECK (id ~ '^[a-z][a-z0-9]{3}[a-z]$'),
    -- The member who enrolled it; leaving the account takes the device with it.
    owner_uid  uuid NOT NULL,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- base64 of 32 bytes in the one form WireGuard accepts (the last digit's low bits zero).
    public_key text NOT NULL CHECK (public_key ~ '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$'),
    -- The address is 172.24.200.0/21 + host; unique per account, which backs up the allocation
    -- made under the account's row lock (vpn_devices_store.c).
    host       integer NOT NULL CHECK (host BETWEEN 1 AND 2046),
    version    integer NOT NULL DEFAULT 1,   -- ETag
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aid, id),
    UNIQUE (aid, host),
    UNIQUE (aid, public_key),
    FOREIGN KEY (aid, owner_uid) REFERENCES memberships (aid, uid) ON DELETE CASCADE
);
CREATE INDEX vpn_devices_list ON vpn_devices (aid, created_at, id);

-- The clusters a device reaches; a deleted cluster drops out.
CREATE TABLE vpn_device_clusters (
    aid       text NOT NULL,
    device_id text NOT NULL,
    cid       text NOT NULL,
    PRIMARY KEY (aid, device_id, cid),
    FOREIGN KEY (aid, device_id) REFERENCES vpn_devices (aid, id) ON DELETE CASCADE,
    FOREIGN KEY (aid, cid) REFERENCES clusters (aid, cid) ON DELETE CASCADE
);
CREATE INDEX vpn_device_clusters_cid ON vpn_device_clusters (aid, cid, device_id);
