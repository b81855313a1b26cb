import HotlineCore
import Testing

/// The detector of DOMAIN §10 on its own: every shape of identity found, everything else left.
@Suite("Free-text detector") struct FreeTextDetectorTests {
    @Test func theDetectorFindsEveryShapeAndLeavesTheRestAlone() {
        let identity = CitizenIdentity(name: "张三", phone: "13812345678")
        func masked(_ text: String) -> String { FreeText.shown(text, to: .masked, identities: [identity]) }
        // Phones in every form people write them.
        #expect(masked("电话13812345678") == "电话138****5678")
        #expect(masked("电话 138 1234 5678。") == "电话 138****5678。")
        #expect(masked("电话138-1234-5678") == "电话138****5678")
        #expect(masked("电话138.1234.5678") == "电话138****5678")
        #expect(masked("+86 139 8765 4321") == "861****4321")
        #expect(masked("电话１３９８７６５４３２１") == "电话139****4321")
        #expect(masked("座机0538-8221234") == "座机053****1234")
        #expect(masked("座机8221234") == "座机*****34")
        // ID cards (with and without a right check digit) and bank cards.
        #expect(masked("身份证370902199001011235") == "身份证370****1235")
        #expect(masked("身份证11010519491231002X") == "身份证110****002X")
        #expect(masked("身份证370902199001011234") == "身份证370****1234")
        #expect(masked("卡号6222 0212 3456 7890 123") == "卡号622****0123")
        // The citizen's own name, wherever it is; the citizen's own short number too.
        #expect(masked("张三说张三丰不是他") == "张**说张**丰不是他")
        #expect(FreeText.shown("回电95598", to: .masked, identities: [CitizenIdentity(phone: "95598")]) == "回电***98")
        // Removal.
        #expect(FreeText.shown("我叫张三，电话13812345678", to: .removed, identities: [identity])
                == "我叫\(FreeText.removedMark)，电话\(FreeText.removedMark)")
        // What is not identity stays: case numbers, dates, times, house numbers, amounts, hotlines.
        for plain in ["工单20260302000001已办结", "2026-03-02T09:00:00+08:00", "20260301起停水", "3号楼2单元501室",
                      "罚款5000元", "拨打12345或95598", "面积120.5平方米", "2026年3月2日", "4008123123"] {
            #expect(masked(plain) == plain)
        }
        #expect(FreeText.shown("电话13812345678", to: .original, identities: [identity]) == "电话13812345678")
        // The intake warning: name, phone, and an ID card only where its check digit is right.
        #expect(FreeText.findings("我叫张三，电话13812345678", identity: identity) == [.citizenName, .citizenPhone])
        #expect(FreeText.findings("身份证370902199001011235", identity: identity) == [.idCard])
        #expect(FreeText.findings("身份证370902199001011234", identity: identity).isEmpty)
        #expect(FreeText.isValidIDCard("11010519491231002X"))
    }
}
