/// Request bodies of cases, as an operator would send them. The citizen has not consented to
/// direct contact unless a test says so: a consenting citizen is owed a first contact (DOMAIN §5b),
/// whose deadline and ladder the tests of other steps need not count.
enum CaseBodies {
    static func make(
        type: String = "complaint", urgency: String = "normal", category: String = "housing.property",
        subject: String = "小区电梯停运一周无人维修", description: String = "岱庙街道某小区3号楼电梯停运一周，物业不予维修。",
        region: String? = "taishan", name: String? = "张三", phone: String? = "13812345678",
        anonymous: Bool = false, confidential: Bool = false, consent: Bool = false,
        directAnswer: [String: Any]? = nil, channel: String = "phone"
    ) -> [String: Any] {
        var citizen: [String: Any] = ["anonymous": anonymous, "confidential": confidential, "contact_consent": consent]
        if let name { citizen["name"] = name }
        if let phone { citizen["phone"] = phone }
        var body: [String: Any] = [
            "channel": channel, "type": type, "urgency": urgency, "category": category,
            "subject": subject, "description": description, "citizen": citizen,
        ]
        var location: [String: Any] = ["address": "泰山区岱庙街道红门路1号"]
        if let region { location["region"] = region }
        body["location"] = location
        if let directAnswer { body["direct_answer"] = directAnswer }
        return body
    }

    static func complaint() -> String { json(make()) }

    /// A complaint whose citizen agreed to be contacted by the unit.
    static func consenting() -> String { json(make(consent: true)) }

    static func anonymousReport() -> String {
        json(make(type: "report", name: nil, phone: nil, anonymous: true, consent: false))
    }
}
