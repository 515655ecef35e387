-- The claim routes count in the plumbing's rate_limits table (shared/ratelimit.py, shared/0005) like every public
-- route of every service; this service's own counters from 0002 go.
DROP TABLE IF EXISTS rate_limit_windows;
