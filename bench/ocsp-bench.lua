-- SPDX-License-Identifier: ISC
-- ocsp-bench.lua: wrk script for bench/ocsp-bench.
--   wrk ... -s ocsp-bench.lua URL -- post FILE   POST the requests in FILE
--   wrk ... -s ocsp-bench.lua URL -- get FILE    GET the paths in FILE
-- FILE has one request per line: DER in hex for "post", a URL path
-- (/<percent-encoded base64>) for "get". Each thread walks the list from
-- its own offset, round robin.

local mode, items, i = "post", {}, 0
local counter = 0

setup = function(thread)
	thread:set("offset", counter * 7919)
	counter = counter + 1
end

init = function(args)
	mode = args[1] or "post"
	for line in io.lines(args[2]) do
		if mode == "post" then
			items[#items + 1] = (line:gsub("..", function(h)
				return string.char(tonumber(h, 16))
			end))
		else
			items[#items + 1] = line
		end
	end
	i = (offset or 0) % #items
end

request = function()
	i = i % #items + 1
	if mode == "post" then
		return wrk.format("POST", "/",
		    { ["Content-Type"] = "application/ocsp-request" }, items[i])
	end
	return wrk.format("GET", items[i])
end
