-- post.lua - wrk script: POST one single-alert Alertmanager payload, with a
-- new instance label per request so every request is a new alert.
counter = 0
request = function()
	counter = counter + 1
	local body = string.format(
		'{"receiver":"sm","status":"firing","groupKey":"{}","alerts":[{"status":"firing",' ..
		'"labels":{"alertname":"WrkLoad","instance":"w%d-%d","severity":"warning"},' ..
		'"annotations":{"summary":"wrk"},"startsAt":"2026-11-22T01:20:29Z",' ..
		'"endsAt":"0001-01-01T00:00:00Z"}]}', math.random(1, 1000000000), counter)
	return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
