-- GET /api/digilocker/{id}/status for a random id of those created before
-- the run; the ids file (one per line) is the script's first argument.
local ids = {}

function init(args)
  local path = args[1]
  if path == nil then error("status.lua needs the ids file as its argument") end
  for line in io.lines(path) do
    if #line > 0 then ids[#ids + 1] = line end
  end
  if #ids == 0 then error("no ids in " .. path) end
  math.randomseed(os.time())
end

function request()
  return wrk.format("GET", "/api/digilocker/" .. ids[math.random(#ids)] .. "/status")
end
