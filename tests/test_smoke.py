def test_send_and_read_back(api_as, alice, bob):
    a = api_as(alice)
    r = a.post("/conversations/direct", json={"user_id": bob["id"]})
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    r = a.post(f"/conversations/{cid}/messages", json={"body": " hello "})
    assert r.status_code == 201, r.json
    assert r.json["body"] == "hello" and r.json["seq"] == 1
    r = api_as(bob).get("/conversations")
    assert r.json["conversations"][0]["unread_count"] == 1
