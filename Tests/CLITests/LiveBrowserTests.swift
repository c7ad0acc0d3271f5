import Foundation
import TestSupport
import Testing

/// A real browser on the Live page of a real run: headless Chromium (driven over the DevTools protocol, since the
/// page never finishes loading: it follows Server-Sent Events) shows events arriving, draws the score chart, and
/// adds a query through the page's own form. Screenshots go to `.build/test-artifacts/`.
@Suite(
    "live page in a browser", .serialized,
    .enabled(if: HeadlessChromium.path != nil, "needs Debian's chromium (scripts/install-deps)"))
struct LiveBrowserTests {
    static let artifacts = Fixtures.root.appendingPathComponent(".build/test-artifacts")

    @Test("the Live page shows events arriving, the chart and thumbnail; a query added on the page is scored")
    func livePage() throws {
        let live = try LiveRun(["--query", "a person", "--captions"] + LiveHTTPCLITests.eager)
        let browser = try HeadlessChromium(url: "http://127.0.0.1:\(live.port)/live")
        // Events arrive over the event stream (data-received counts them) and are drawn.
        let arrived = try browser.wait(
            until: "Number(document.body.dataset.received) > 5 && document.querySelectorAll('#events li').length > 1",
            timeout: 60)
        let html = (try? browser.evaluate("document.body.outerHTML")) as? String ?? ""
        #expect(arrived, "\(html.suffix(3000))")
        let first = try browser.evaluate("Number(document.body.dataset.received)") as? Int ?? 0
        #expect(try browser.wait(until: "Number(document.body.dataset.received) > \(first + 3)", timeout: 30))
        #expect(try browser.evaluate("document.querySelector('#connection').textContent") as? String == "live")
        #expect(
            try browser.wait(
                until: "document.querySelector('.chart polyline[data-query=\"a person\"]') !== null", timeout: 20))
        #expect(try browser.wait(until: "document.querySelector('#captions li') !== null", timeout: 30))
        #expect(
            try browser.wait(
                until: "(() => { const i = document.querySelector('.stream .thumb'); "
                    + "return i.complete && i.naturalWidth > 0 })()", timeout: 20))

        // The operator adds a query with the page's form: the list shows it and the chart draws it.
        _ = try browser.evaluate(
            "document.querySelector('#query').value = 'a red car'; "
                + "document.querySelector('#query-form').requestSubmit(); true")
        #expect(
            try browser.wait(
                until: "document.querySelector('#queries li[data-query=\"a red car\"]') !== null", timeout: 20))
        #expect(
            try browser.wait(
                until: "document.querySelector('.chart polyline[data-query=\"a red car\"]') !== null", timeout: 30))
        #expect(try browser.evaluate("document.querySelector('#error').hidden") as? Bool == true)

        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
        let png = try browser.screenshot()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 20_000)
        let file = Self.artifacts.appendingPathComponent("live.png")
        try png.write(to: file)
        print("live page screenshot: \(file.path)")

        // Removing it with its button.
        _ = try browser.evaluate(
            "document.querySelector('#queries li[data-query=\"a red car\"] button.remove').click(); true")
        #expect(
            try browser.wait(
                until: "document.querySelector('#queries li[data-query=\"a red car\"]') === null", timeout: 20))
        #expect(live.interrupt() == 0)
    }
}
