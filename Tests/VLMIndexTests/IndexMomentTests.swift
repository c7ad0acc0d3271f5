import Testing
import VLMIndex

/// `INDEX:VIDEO@SECONDS`: the index up to the first colon, the time after the last `@`.
@Suite struct IndexMomentTests {
    @Test(arguments: [
        ("videos.sqlite:plaza.mp4@3.5", "videos.sqlite", "plaza.mp4", 3.5, "plaza.mp4@3.5"),
        ("/data/i.sqlite:/v/cam:1/a@b.mp4@0", "/data/i.sqlite", "/v/cam:1/a@b.mp4", 0.0, "a@b.mp4@0"),
        ("i:v@12", "i", "v", 12.0, "v@12"),
    ])
    func parses(text: String, index: String, video: String, seconds: Double, label: String) throws {
        let moment = try IndexMoment(parsing: text)
        #expect(moment == IndexMoment(index: index, video: video, seconds: seconds))
        #expect(moment.label == label)
        #expect(try IndexMoment(parsing: moment.description) == moment)
    }

    @Test(arguments: [
        ("plaza.mp4@3", "write INDEX:VIDEO@SECONDS"),
        ("i.sqlite:plaza.mp4", "write INDEX:VIDEO@SECONDS"),
        (":plaza.mp4@3", "write INDEX:VIDEO@SECONDS"),
        ("i.sqlite:@3", "write INDEX:VIDEO@SECONDS"),
        ("i.sqlite:plaza.mp4@soon", "write INDEX:VIDEO@SECONDS"),
        ("i.sqlite:plaza.mp4@-2", "the time must be 0 or more seconds"),
        ("i.sqlite:plaza.mp4@nan", "the time must be 0 or more seconds"),
        ("i.sqlite:plaza.mp4@inf", "the time must be 0 or more seconds"),
    ])
    func refuses(text: String, expected: String) {
        #expect {
            _ = try IndexMoment(parsing: text)
        } throws: { error in
            "\(error)".hasPrefix("query moment \(text): ") && "\(error)".contains(expected)
        }
    }
}
