-- callboard RedisLimiter: one GCRA bucket, reconciled and consulted in one atomic step.
--
-- KEYS[1]  the bucket's hash; fields: tat (theoretical arrival time), pause (no grant
--          before), share (the effective share of the configured rate, learned from the
--          provider by any process), epoch (how often share was cut)
-- ARGV[1]  capacity (units)            ARGV[2]  refill period (seconds)
-- ARGV[3]  amount to take (-1: take nothing, only reconcile)
-- ARGV[4]  refund (units given back)   ARGV[5]  debit (units charged beyond a grant)
-- ARGV[6]  remaining reported by the provider (-1: none)
-- ARGV[7]  retry-after reported by the provider, seconds (0: none)
-- ARGV[8]  a share proposed by this process (-1: none)
-- ARGV[9]  what to do with it: 1 cut (lower share, count an epoch), 2 raise (only if no
--          cut happened since ARGV[10], the epoch the proposer knew)
--
-- Returns {granted (0/1), wait seconds, level, share, epoch} with the floats as strings
-- (Redis would truncate Lua numbers to integers). Time is Redis's own TIME, so the clocks
-- of the client machines never matter. A unit takes per_unit = period / capacity / share
-- seconds of the bucket's time span (the period): the share scales both the rate and the
-- burst. The level at time t is (period - (tat - t)) / per_unit: tat = t means a full
-- bucket, tat = t + period an empty one, beyond that a debt.

local capacity = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local take = tonumber(ARGV[3])
local refund = tonumber(ARGV[4])
local debit = tonumber(ARGV[5])
local remaining = tonumber(ARGV[6])
local retry_after = tonumber(ARGV[7])
local proposed = tonumber(ARGV[8] or '-1')
local mode = tonumber(ARGV[9] or '0')
local known = tonumber(ARGV[10] or '0')

-- Redis before 5 replicates scripts verbatim and refuses writes after TIME unless told to
-- replicate the effects instead (the default, and a no-op, since Redis 5).
if redis.replicate_commands then
    redis.replicate_commands()
end

-- Seconds since a recent fixed epoch: smaller numbers keep sub-microsecond precision.
local t = redis.call('TIME')
local now = (tonumber(t[1]) - 1700000000) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tat', 'pause', 'share', 'epoch')
local tat = tonumber(state[1]) or now
local pause = tonumber(state[2]) or 0
local share = tonumber(state[3]) or 1
local epoch = tonumber(state[4]) or 0
if tat < now then
    tat = now
end
if proposed > 0 then
    if mode == 1 and proposed < share then
        share = proposed
        epoch = epoch + 1
    elseif mode == 2 and epoch == known and proposed > share then
        share = math.min(1, proposed)
    end
end
local per = period / capacity / share

-- Reconcile first, so a grant below sees what this process already knows.
if refund > 0 then
    tat = math.max(now, tat - refund * per)  -- a refund never lifts the level above capacity
end
if debit > 0 then
    tat = tat + debit * per
end
if remaining >= 0 then
    tat = math.max(tat, now + period - remaining * per)
end
if retry_after > 0 then
    pause = math.max(pause, now + retry_after)
end

local granted = 0
local wait = 0
if take >= 0 then
    local slack = 1e-9 * math.max(take, 1) * per
    local needed = tat + take * per - period  -- the instant the amount is there
    if now >= pause and needed <= now + slack then
        tat = tat + take * per
        granted = 1
    else
        wait = math.max(pause, needed) - now
    end
end

redis.call('HSET', KEYS[1], 'tat', string.format('%.17g', tat), 'pause', string.format('%.17g', pause),
    'share', string.format('%.17g', share), 'epoch', epoch)
-- Once tat and pause have passed by a whole period the bucket is full again, exactly as
-- an absent key reads, so expiring it then loses nothing.
local idle = math.max(tat, pause) - now + period
redis.call('PEXPIRE', KEYS[1], math.ceil(idle * 1000) + 1000)

local level = (period - (tat - now)) / per
return {granted, string.format('%.17g', wait), string.format('%.17g', level),
    string.format('%.17g', share), epoch}
