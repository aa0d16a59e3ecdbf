//! Sorted streams of per-file records that spill to temporary files past a memory budget.
//!
//! A bundle has one manifest entry, one log record and one digest listing entry per file:
//! millions for a year of a busy account. Held in memory they would make the run's memory
//! grow with the bundle; here each stream keeps at most its budget in memory, sorts it and
//! writes it out as a run when it is full, and is read back as one sorted stream by merging
//! the runs (an external merge sort). Verification then joins the sorted streams (log files
//! against the digests that list them) instead of looking files up in an index.
//!
//! Runs are unnamed temporary files (`tempfile::tempfile_in`: on Linux an `O_TMPFILE` that
//! has no name at all) in the temporary folder, never beside the evidence; the system removes
//! them when the run ends, however it ends. A bundle that fits the budget never touches disk.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Runs are merged in tiers: when a tier holds this many runs, they become one run of the
/// next tier. Each record is then rewritten once per eightfold growth of its stream (four
/// or five times for a million runs), and a stream keeps fewer than this many runs open per
/// tier.
const FAN_IN: usize = 8;

/// Read buffer per run while merging.
const RUN_BUFFER: usize = 16 << 10;

#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("cannot write a temporary file in {dir}: {source}")]
    Write {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read back a temporary file: {0}")]
    Read(#[source] std::io::Error),
    #[error("a temporary file was changed while trailproof ran (a record does not decode)")]
    Corrupt,
}

/// A record of a sorted stream: how it sorts, how big it is in memory, and its bytes.
pub trait Record: Sized + Clone {
    /// The stream's order; records that compare equal are interchangeable.
    fn order(&self, other: &Self) -> Ordering;
    /// About how many bytes it holds in memory, heap included.
    fn weight(&self) -> usize;
    fn encode(&self, e: &mut Enc<'_>);
    fn decode(d: &mut Dec<'_>) -> Option<Self>;
}

/// Little-endian, length-prefixed encoding of record fields.
pub struct Enc<'a>(pub &'a mut Vec<u8>);

impl Enc<'_> {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(x) => {
                self.u8(1);
                self.i64(x);
            }
            None => self.u8(0),
        }
    }
    pub fn opt_str(&mut self, v: Option<&str>) {
        match v {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }
    pub fn opt_hash(&mut self, v: Option<&crate::hash::Sha256Hash>) {
        match v {
            Some(h) => {
                self.u8(1);
                self.0.extend_from_slice(&h.0);
            }
            None => self.u8(0),
        }
    }
}

/// Reads what `Enc` wrote; every read is checked, so a damaged file gives `None`.
pub struct Dec<'a>(pub &'a [u8]);

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.u64()?).ok()?;
        self.take(n)
    }
    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    pub fn opt_i64(&mut self) -> Option<Option<i64>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.i64()?)),
            _ => None,
        }
    }
    pub fn opt_str(&mut self) -> Option<Option<&'a str>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }
    pub fn opt_hash(&mut self) -> Option<Option<crate::hash::Sha256Hash>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(crate::hash::Sha256Hash(
                self.take(32)?.try_into().ok()?,
            ))),
            _ => None,
        }
    }
}

/// Where runs are written, and how much memory each stream may hold.
#[derive(Debug, Clone)]
pub struct Budget {
    pub dir: PathBuf,
    pub bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget::unbounded()
    }
}

impl Budget {
    /// Everything in memory (tests, and streams known to be small).
    pub fn unbounded() -> Self {
        Budget {
            dir: std::env::temp_dir(),
            bytes: usize::MAX,
        }
    }
}

/// One sorted run on disk: `count` records, each a u64 length and its bytes.
#[derive(Debug)]
struct Run {
    file: File,
    count: u64,
    /// 0 for a run written from memory; n + 1 for `FAN_IN` runs of tier n merged.
    tier: u32,
}

/// A stream being filled: records in any order.
#[derive(Debug)]
pub struct Spill<T> {
    buf: Vec<T>,
    weight: usize,
    budget: Budget,
    runs: Vec<Run>,
    count: u64,
}

impl<T: Record> Default for Spill<T> {
    fn default() -> Self {
        Spill::new(Budget::unbounded())
    }
}

impl<T: Record> Spill<T> {
    pub fn new(budget: Budget) -> Self {
        Spill {
            buf: Vec::new(),
            weight: 0,
            budget,
            runs: Vec::new(),
            count: 0,
        }
    }

    /// Records pushed so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn push(&mut self, t: T) -> Result<(), SpillError> {
        // The budget counts the records' own heap and the buffer as allocated. The buffer
        // grows by doubling: write it out rather than let it double past the budget (it
        // keeps its capacity for the next run).
        let size = std::mem::size_of::<T>();
        if self.buf.len() == self.buf.capacity() && !self.buf.is_empty() {
            let doubled = self
                .weight
                .saturating_add(self.buf.capacity().saturating_mul(2 * size));
            if doubled > self.budget.bytes {
                self.spill()?;
            }
        }
        self.weight = self.weight.saturating_add(t.weight());
        self.buf.push(t);
        self.count += 1;
        if self
            .weight
            .saturating_add(self.buf.len().saturating_mul(size))
            > self.budget.bytes
        {
            self.spill()?;
        }
        Ok(())
    }

    /// Sort what is in memory and write it out as a run.
    fn spill(&mut self) -> Result<(), SpillError> {
        self.buf.sort_unstable_by(T::order);
        self.weight = 0;
        // Drained, not taken: the buffer keeps its capacity for the next run instead of
        // growing again by doubling (each doubling briefly holds old and new).
        let run = write_run(&self.budget.dir, self.buf.drain(..).map(Ok), 0)?;
        self.runs.push(run);
        let mut tier = 0;
        while self.runs.iter().filter(|r| r.tier == tier).count() >= FAN_IN {
            let (full, rest): (Vec<Run>, Vec<Run>) = std::mem::take(&mut self.runs)
                .into_iter()
                .partition(|r| r.tier == tier);
            self.runs = rest;
            let merged = Merge::<T>::new(&[], &full)?;
            self.runs
                .push(write_run(&self.budget.dir, merged, tier + 1)?);
            tier += 1;
        }
        Ok(())
    }

    /// Done filling: the records, sorted.
    pub fn finish(mut self) -> Sorted<T> {
        self.buf.sort_unstable_by(T::order);
        self.buf.shrink_to_fit();
        Sorted {
            mem: self.buf,
            runs: self.runs,
            count: self.count,
        }
    }
}

fn write_run<T: Record>(
    dir: &Path,
    records: impl Iterator<Item = Result<T, SpillError>>,
    tier: u32,
) -> Result<Run, SpillError> {
    let werr = |source| SpillError::Write {
        dir: dir.to_path_buf(),
        source,
    };
    let file = tempfile::tempfile_in(dir).map_err(werr)?;
    let mut w = BufWriter::with_capacity(RUN_BUFFER, file);
    let mut bytes = Vec::new();
    let mut count = 0u64;
    for r in records {
        let r = r?;
        bytes.clear();
        r.encode(&mut Enc(&mut bytes));
        w.write_all(&(bytes.len() as u64).to_le_bytes())
            .and_then(|()| w.write_all(&bytes))
            .map_err(werr)?;
        count += 1;
    }
    let file = w.into_inner().map_err(|e| werr(e.into_error()))?;
    Ok(Run { file, count, tier })
}

/// A finished stream: sorted, read as often as needed (one reading at a time).
#[derive(Debug)]
pub struct Sorted<T> {
    mem: Vec<T>,
    runs: Vec<Run>,
    count: u64,
}

impl<T> Default for Sorted<T> {
    fn default() -> Self {
        Sorted {
            mem: Vec::new(),
            runs: Vec::new(),
            count: 0,
        }
    }
}

impl<T: Record> Sorted<T> {
    pub fn len(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether any run went to disk.
    pub fn spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    /// The records in order. Readings of one stream must not interleave: runs share
    /// their file position.
    pub fn iter(&self) -> Result<Merge<'_, T>, SpillError> {
        Merge::new(&self.mem, &self.runs)
    }
}

impl<T: Record + PartialEq> Sorted<T> {
    /// The records in order, each once (equal neighbours dropped).
    pub fn iter_distinct(&self) -> Result<Distinct<'_, T>, SpillError> {
        Ok(Distinct {
            it: self.iter()?,
            prev: None,
        })
    }
}

/// A sorted stream with equal neighbours dropped.
pub struct Distinct<'a, T> {
    it: Merge<'a, T>,
    prev: Option<T>,
}

impl<T: Record + PartialEq> Iterator for Distinct<'_, T> {
    type Item = Result<T, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.it.next()? {
                Ok(t) if self.prev.as_ref() == Some(&t) => continue,
                Ok(t) => {
                    self.prev = Some(t.clone());
                    return Some(Ok(t));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// A sorted stream with its next record read ahead, for reading it alongside another
/// stream in the same order.
pub struct Cursor<'a, T> {
    it: Merge<'a, T>,
    pub head: Option<T>,
}

impl<'a, T: Record> Cursor<'a, T> {
    pub fn new(s: &'a Sorted<T>) -> Result<Self, SpillError> {
        let mut it = s.iter()?;
        let head = it.next().transpose()?;
        Ok(Cursor { it, head })
    }

    /// The head record, and the next one read ahead, if `is_key` holds for the head.
    pub fn take_if(&mut self, is_key: impl Fn(&T) -> bool) -> Result<Option<T>, SpillError> {
        if !self.head.as_ref().is_some_and(is_key) {
            return Ok(None);
        }
        let next = self.it.next().transpose()?;
        Ok(std::mem::replace(&mut self.head, next))
    }
}

/// Reads one run from its start.
struct RunReader {
    r: BufReader<File>,
    left: u64,
    buf: Vec<u8>,
}

impl RunReader {
    fn open(run: &Run) -> Result<Self, SpillError> {
        let mut f = run.file.try_clone().map_err(SpillError::Read)?;
        f.seek(SeekFrom::Start(0)).map_err(SpillError::Read)?;
        Ok(RunReader {
            r: BufReader::with_capacity(RUN_BUFFER, f),
            left: run.count,
            buf: Vec::new(),
        })
    }

    fn next<T: Record>(&mut self) -> Option<Result<T, SpillError>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut len = [0u8; 8];
        if let Err(e) = self.r.read_exact(&mut len) {
            return Some(Err(SpillError::Read(e)));
        }
        let Ok(n) = usize::try_from(u64::from_le_bytes(len)) else {
            return Some(Err(SpillError::Corrupt));
        };
        // A length we never wrote would be a damaged file: refuse it before allocating.
        if n > 1 << 30 {
            return Some(Err(SpillError::Corrupt));
        }
        self.buf.resize(n, 0);
        if let Err(e) = self.r.read_exact(&mut self.buf) {
            return Some(Err(SpillError::Read(e)));
        }
        let mut d = Dec(&self.buf);
        Some(T::decode(&mut d).ok_or(SpillError::Corrupt))
    }
}

/// The head record of one source, ordered for a min-heap (ties by source, so the merge is
/// deterministic).
struct Head<T> {
    rec: T,
    src: usize,
}

impl<T: Record> PartialEq for Head<T> {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl<T: Record> Eq for Head<T> {}
impl<T: Record> PartialOrd for Head<T> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<T: Record> Ord for Head<T> {
    fn cmp(&self, o: &Self) -> Ordering {
        // Reversed: `BinaryHeap` pops the greatest.
        o.rec.order(&self.rec).then(o.src.cmp(&self.src))
    }
}

/// The k-way merge of a stream's runs and its in-memory part.
pub struct Merge<'a, T> {
    mem: std::slice::Iter<'a, T>,
    readers: Vec<RunReader>,
    heap: BinaryHeap<Head<T>>,
    failed: bool,
}

impl<'a, T: Record> Merge<'a, T> {
    fn new(mem: &'a [T], runs: &[Run]) -> Result<Self, SpillError> {
        let mut m = Merge {
            mem: mem.iter(),
            readers: runs.iter().map(RunReader::open).collect::<Result<_, _>>()?,
            heap: BinaryHeap::new(),
            failed: false,
        };
        for src in 0..=m.readers.len() {
            if let Some(rec) = m.pull(src)? {
                m.heap.push(Head { rec, src });
            }
        }
        Ok(m)
    }

    /// The next record of source `src` (the last source is the in-memory part).
    fn pull(&mut self, src: usize) -> Result<Option<T>, SpillError> {
        match self.readers.get_mut(src) {
            Some(r) => r.next().transpose(),
            None => Ok(self.mem.next().cloned()),
        }
    }
}

impl<T: Record> Iterator for Merge<'_, T> {
    type Item = Result<T, SpillError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        let Head { rec, src } = self.heap.pop()?;
        match self.pull(src) {
            Ok(Some(next)) => self.heap.push(Head { rec: next, src }),
            Ok(None) => {}
            Err(e) => {
                self.failed = true;
                return Some(Err(e));
            }
        }
        Some(Ok(rec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct R(String, u64);

    impl Record for R {
        fn order(&self, o: &Self) -> Ordering {
            (&self.0, self.1).cmp(&(&o.0, o.1))
        }
        fn weight(&self) -> usize {
            self.0.len()
        }
        fn encode(&self, e: &mut Enc<'_>) {
            e.str(&self.0);
            e.u64(self.1);
        }
        fn decode(d: &mut Dec<'_>) -> Option<Self> {
            Some(R(d.str()?.to_owned(), d.u64()?))
        }
    }

    fn records(n: u64) -> Vec<R> {
        // A fixed shuffle: multiplication by a unit modulo a prime.
        (0..n)
            .map(|i| {
                let k = (i * 7919) % 10007;
                R(format!("key-{:05}", k % 977), k)
            })
            .collect()
    }

    fn sorted_with(budget: usize, n: u64) -> (Vec<R>, bool) {
        let mut s = Spill::new(Budget {
            dir: std::env::temp_dir(),
            bytes: budget,
        });
        for r in records(n) {
            s.push(r).unwrap();
        }
        let s = s.finish();
        assert_eq!(s.len(), n);
        // Tiers keep fewer than `FAN_IN` runs each: a handful open, not one per spill.
        let tiers = s
            .runs
            .iter()
            .map(|r| r.tier)
            .max()
            .map_or(0, |t| t as usize + 1);
        assert!(
            s.runs.len() < FAN_IN * tiers.max(1),
            "{} runs",
            s.runs.len()
        );
        assert!(tiers <= 5, "{tiers} tiers");
        let out: Vec<R> = s.iter().unwrap().map(Result::unwrap).collect();
        // Read twice: the same records again (the manifest is written to several outputs).
        let again: Vec<R> = s.iter().unwrap().map(Result::unwrap).collect();
        assert_eq!(out, again);
        (out, s.spilled())
    }

    #[test]
    fn spilled_stream_reads_back_sorted_and_complete() {
        let mut expected = records(5000);
        expected.sort_by(R::order);
        let (mem, mem_spilled) = sorted_with(usize::MAX, 5000);
        assert!(!mem_spilled);
        assert_eq!(mem, expected);
        // A tiny budget: hundreds of runs, merged in tiers of `FAN_IN`.
        let (disk, disk_spilled) = sorted_with(500, 5000);
        assert!(disk_spilled);
        assert_eq!(disk, expected);
    }

    #[test]
    fn empty_stream() {
        let s: Spill<R> = Spill::new(Budget::unbounded());
        let s = s.finish();
        assert!(s.is_empty());
        assert_eq!(s.iter().unwrap().count(), 0);
    }

    #[test]
    fn damaged_record_is_an_error_not_a_panic() {
        let mut d = Dec(&[5, 0, 0, 0, 0, 0, 0, 0, b'a']);
        assert!(R::decode(&mut d).is_none());
        let mut d = Dec(&[0xff; 8]);
        assert!(d.bytes().is_none());
    }
}
