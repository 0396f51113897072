-- POST /api/digilocker (the URL's path) with the contract's smallest body.
-- The three auth headers come from wrk's -H flags.
wrk.method = "POST"
wrk.body = '{"redirectUrl":"https://example.com/done"}'
wrk.headers["Content-Type"] = "application/json"
