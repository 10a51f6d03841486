wrk.method = "POST"
wrk.headers["Authorization"] = "Basic YmVuY2g6YmVuY2gtcGFzc3dvcmQ="
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"seriesId": 1, "count": 100}'
