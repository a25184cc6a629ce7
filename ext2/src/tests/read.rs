//! Reading what mke2fs wrote: sizes around block boundaries, indirect and
//! double-indirect files, sparse files, paths and directory listings.

use std::vec;
use std::vec::Vec;

use abi::Errno;

use super::support::{Mkfs, Scratch, mount, pattern, read_all};
use crate::FileType;

const FIVE_MIB: usize = 5 << 20;
/// Sizes that sit around block and indirection boundaries.
const SIZES: [(&str, usize); 6] = [
    ("empty", 0),
    ("one", 1),
    ("almost_page", 4095),
    ("page", 4096),
    ("past_direct_1k", 12 * 1024 + 1),
    ("five_mib", FIVE_MIB),
];

/// A tree with one file of each size, a sparse file and nested directories.
fn populate(scratch: &Scratch) {
    for (seed, (name, size)) in SIZES.iter().enumerate() {
        scratch.add_file(name, &pattern(*size, seed as u32));
    }
    scratch.add_sparse_file("sparse", 1 << 20, 300_000, b"island in a hole");
    scratch.add_file("dir/nested/deep.txt", b"deep\n");
}

fn assert_reads_every_size(options: Mkfs) {
    let scratch = Scratch::new("read-sizes");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(options));
    for (seed, (name, size)) in SIZES.iter().enumerate() {
        let contents = read_all(&mut fs, &std::format!("/{name}"));
        assert_eq!(contents.len(), *size, "size of {name}");
        assert!(
            contents == pattern(*size, seed as u32),
            "contents of {name}"
        );
    }
}

#[test]
fn reads_files_of_every_size_with_1k_blocks() {
    assert_reads_every_size(Mkfs::new(1024, 16 * 1024));
}

#[test]
fn reads_files_of_every_size_with_2k_blocks() {
    assert_reads_every_size(Mkfs::new(2048, 16 * 1024));
}

#[test]
fn reads_files_of_every_size_with_4k_blocks() {
    assert_reads_every_size(Mkfs::new(4096, 16 * 1024));
}

#[test]
fn reads_files_of_every_size_on_revision_0() {
    assert_reads_every_size(Mkfs::new(1024, 16 * 1024).revision0());
}

#[test]
fn i_blocks_counts_indirect_blocks_in_512_byte_units() {
    let scratch = Scratch::new("read-iblocks");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let past_direct = fs.lookup_path(b"/past_direct_1k").unwrap();
    // 13 data blocks + 1 indirect block, 2 sectors each.
    assert_eq!(fs.metadata(past_direct).unwrap().sectors, 28);
    let five_mib = fs.lookup_path(b"/five_mib").unwrap();
    // 5120 data + 1 single indirect + 1 double indirect + 19 second-level indirect.
    assert_eq!(fs.metadata(five_mib).unwrap().sectors, 2 * 5141);
}

#[test]
fn reads_at_odd_offsets_across_block_boundaries() {
    let scratch = Scratch::new("read-offsets");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let inode = fs.lookup_path(b"/five_mib").unwrap();
    let expected = pattern(FIVE_MIB, 5);
    for (offset, len) in [
        (1023, 2),
        (4000, 9000),
        (12 * 1024 - 3, 300_000),
        (FIVE_MIB - 10, 10),
    ] {
        let mut buf = vec![0; len];
        assert_eq!(fs.read_at(inode, offset as u64, &mut buf).unwrap(), len);
        assert!(
            buf == expected[offset..offset + len],
            "{len} bytes at {offset}"
        );
    }
}

#[test]
fn read_stops_at_end_of_file() {
    let scratch = Scratch::new("read-eof");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 8 * 1024)));
    let inode = fs.lookup_path(b"/almost_page").unwrap();
    let mut buf = [0; 100];
    assert_eq!(fs.read_at(inode, 4000, &mut buf).unwrap(), 95);
    assert_eq!(buf[..95], pattern(4095, 2)[4000..]);
    assert_eq!(fs.read_at(inode, 4095, &mut buf).unwrap(), 0);
    assert_eq!(fs.read_at(inode, 1 << 40, &mut buf).unwrap(), 0);
}

#[test]
fn sparse_file_holes_read_as_zeros_and_map_to_no_block() {
    let scratch = Scratch::new("read-sparse");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let inode = fs.lookup_path(b"/sparse").unwrap();
    let metadata = fs.metadata(inode).unwrap();
    assert_eq!(metadata.size, 1 << 20);
    // One data block (300_000 / 1024 = 292, past the 12 + 256 blocks that
    // direct and single-indirect pointers reach), the double-indirect block
    // and one second-level indirect block.
    assert_eq!(metadata.sectors, 6);
    let mut expected = vec![0; 1 << 20];
    expected[300_000..300_016].copy_from_slice(b"island in a hole");
    assert!(read_all(&mut fs, "/sparse") == expected);
    assert_eq!(fs.block_of(inode, 0).unwrap(), None);
    assert_eq!(fs.block_of(inode, 291).unwrap(), None);
    assert!(fs.block_of(inode, 292).unwrap().is_some());
    let mut mapping = [Some(0); 3];
    fs.map_blocks(inode, 291, &mut mapping).unwrap();
    assert_eq!(mapping[0], None);
    assert_eq!(mapping[1], fs.block_of(inode, 292).unwrap());
    assert_eq!(mapping[2], None);
}

#[test]
fn lookup_path_walks_nested_directories_dot_and_dotdot() {
    let scratch = Scratch::new("read-paths");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let deep = fs.lookup_path(b"/dir/nested/deep.txt").unwrap();
    assert_eq!(fs.lookup_path(b"dir//nested/./deep.txt").unwrap(), deep);
    assert_eq!(
        fs.lookup_path(b"/dir/nested/../nested/deep.txt").unwrap(),
        deep
    );
    assert_eq!(fs.lookup_path(b"/").unwrap(), crate::ROOT_INODE);
    assert_eq!(fs.lookup_path(b"/dir/..").unwrap(), crate::ROOT_INODE);
    assert_eq!(read_all(&mut fs, "/dir/nested/deep.txt"), b"deep\n");
    assert_eq!(fs.lookup_path(b"/dir/missing"), Err(Errno::ENOENT));
    assert_eq!(fs.lookup_path(b"/one/child"), Err(Errno::ENOTDIR));
    let long_name = vec![b'x'; 256];
    assert_eq!(
        fs.lookup(crate::ROOT_INODE, &long_name),
        Err(Errno::ENAMETOOLONG)
    );
}

#[test]
fn read_dir_lists_names_with_file_types() {
    let scratch = Scratch::new("read-dir");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024)));
    let dir = fs.lookup_path(b"/dir").unwrap();
    let entries = fs.read_dir(dir).unwrap();
    let names: Vec<(&[u8], Option<FileType>)> = entries
        .iter()
        .map(|entry| (&entry.name[..], entry.file_type))
        .collect();
    let directory = Some(FileType::Directory);
    assert_eq!(
        names,
        [
            (&b"."[..], directory),
            (b"..", directory),
            (b"nested", directory)
        ]
    );
    assert_eq!(entries[1].inode, crate::ROOT_INODE);
}

#[test]
fn revision_0_entries_have_no_file_type() {
    let scratch = Scratch::new("read-dir-rev0");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 16 * 1024).revision0()));
    let root = fs.read_dir(crate::ROOT_INODE).unwrap();
    assert!(root.iter().any(|entry| entry.name == b"sparse"));
    assert!(root.iter().all(|entry| entry.file_type.is_none()));
}

#[test]
fn metadata_reports_type_size_links_and_times() {
    let scratch = Scratch::new("read-metadata");
    populate(&scratch);
    let mut fs = mount(scratch.mkfs(Mkfs::new(4096, 8 * 1024)));
    let root = fs.metadata(crate::ROOT_INODE).unwrap();
    assert_eq!(root.file_type, FileType::Directory);
    // `.` and `..` of the root, `..` of dir and of lost+found.
    assert_eq!(root.links, 4);
    let page = fs.lookup_path(b"/page").unwrap();
    let page = fs.metadata(page).unwrap();
    assert_eq!(page.file_type, FileType::Regular);
    assert_eq!((page.size, page.links, page.sectors), (4096, 1, 8));
    assert_ne!(page.mtime, 0);
}

#[test]
fn read_at_on_a_directory_is_eisdir() {
    let scratch = Scratch::new("read-eisdir");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let mut buf = [0; 16];
    assert_eq!(
        fs.read_at(crate::ROOT_INODE, 0, &mut buf),
        Err(Errno::EISDIR)
    );
}

#[test]
fn a_broken_directory_record_is_eio_not_a_panic() {
    let scratch = Scratch::new("read-corrupt-dir");
    scratch.add_file("file", b"x");
    let mut fs = mount(scratch.mkfs(Mkfs::new(1024, 4096)));
    let root_block = fs.block_of(crate::ROOT_INODE, 0).unwrap().unwrap();
    let mut block = vec![0; 1024];
    fs.read_blocks(root_block, &mut block).unwrap();
    // The `..` record claims to run past the end of the block.
    block[12 + 4..12 + 6].copy_from_slice(&2000u16.to_le_bytes());
    fs.write_blocks(root_block, &block).unwrap();
    assert_eq!(fs.lookup_path(b"/file"), Err(Errno::EIO));
    assert_eq!(fs.read_dir(crate::ROOT_INODE).err(), Some(Errno::EIO));
}

#[test]
fn a_block_pointer_past_the_disk_is_eio_not_a_panic() {
    let scratch = Scratch::new("read-corrupt-pointer");
    scratch.add_file("file", &pattern(20 * 1024, 1));
    let mut disk = scratch.mkfs(Mkfs::new(1024, 4096));
    scratch.debugfs_write(&mut disk, "sif /file block[0] 99999");
    scratch.debugfs_write(&mut disk, "sif /file block[IND] 88888");
    let mut fs = mount(disk);
    let file = fs.lookup_path(b"/file").unwrap();
    let mut buf = [0; 16];
    assert_eq!(fs.read_at(file, 0, &mut buf), Err(Errno::EIO));
    assert_eq!(fs.read_at(file, 13 * 1024, &mut buf), Err(Errno::EIO));
    assert_eq!(fs.block_of(file, 0), Err(Errno::EIO));
    assert_eq!(fs.set_len(file, 0, super::support::now()), Err(Errno::EIO));
}
