-- post.lua - wrk script: POST one single-alert Alertmanager payload, with a
-- new instance label per request so every request is a new alert.
-- Each wrk thread has its own Lua state: setup numbers them, so two
-- threads never send the same instance.
local threads = 0
setup = function(thread)
	thread:set("tid", threads)
	threads = threads + 1
end
counter = 0
request = function()
	counter = counter + 1
	local body = string.format(
		'{"receiver":"sm","status":"firing","groupKey":"{}","alerts":[{"status":"firing",' ..
		'"labels":{"alertname":"WrkLoad","instance":"w%d-%d-%d","severity":"warning"},' ..
		'"annotations":{"summary":"wrk"},"startsAt":"2026-11-22T01:20:29Z",' ..
		'"endsAt":"0001-01-01T00:00:00Z"}]}', tid or 0, math.random(1, 1000000000), counter)
	return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
