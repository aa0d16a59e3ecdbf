//! Findings as CSV (RFC 4180), one row per finding, for spreadsheets and case files.

use super::Report;
use crate::time;

const HEADER: &str = "kind,severity,account,region,trail,path,start,end,cause,event_name,event_time,principal,source_ip,error_code,message";

pub fn write(r: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    w.write_all(HEADER.as_bytes())?;
    w.write_all(b"\r\n")?;
    for f in r.findings.iter().map_err(std::io::Error::other)? {
        let f = f.map_err(std::io::Error::other)?;
        let ev = f.event.as_ref();
        let fields: [String; 15] = [
            f.kind.as_str().into(),
            f.severity.as_str().into(),
            f.account.clone().unwrap_or_default(),
            f.region.clone().unwrap_or_default(),
            f.trail.clone().unwrap_or_default(),
            f.path.clone().unwrap_or_default(),
            f.start.map(time::fmt).unwrap_or_default(),
            f.end.map(time::fmt).unwrap_or_default(),
            f.cause.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            ev.map(|e| e.event_name.clone()).unwrap_or_default(),
            ev.map(|e| e.event_time.clone()).unwrap_or_default(),
            ev.and_then(|e| e.principal.clone()).unwrap_or_default(),
            ev.and_then(|e| e.source_ip.clone()).unwrap_or_default(),
            ev.and_then(|e| e.error_code.clone()).unwrap_or_default(),
            f.message.clone(),
        ];
        let row: Vec<String> = fields.iter().map(|v| quote(v)).collect();
        w.write_all(row.join(",").as_bytes())?;
        w.write_all(b"\r\n")?;
    }
    Ok(())
}

/// Quote when needed; a leading `=`, `+`, `-`, `@`, tab or carriage return is prefixed
/// with `'` so that a spreadsheet never evaluates text taken from the evidence as a formula
/// (OWASP's list: some spreadsheets skip a leading tab or CR before reading a formula).
fn quote(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting() {
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("=cmd()"), "'=cmd()");
        assert_eq!(quote("\t=cmd()"), "'\t=cmd()");
        assert_eq!(quote("\r=cmd()"), "\"'\r=cmd()\"");
        assert_eq!(quote("plain"), "plain");
    }
}
