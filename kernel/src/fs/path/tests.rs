//! The path walk on a tree in memory (no disk): each rule of Linux's
//! `link_path_walk` that `path.rs` follows, one test each. They run in the
//! `kernel-fs-page-cache` boot (`test=kernel::fs::`).

use super::{Follow, Last, Names, Parent, Walk};
use abi::Errno;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use ext2::{FileType, InodeNumber, ROOT_INODE};

enum Node {
    Directory(BTreeMap<Vec<u8>, InodeNumber>),
    File,
    Link(Vec<u8>),
}

/// A file tree: `/dir/file`, `/dir/sub/`, `/file`, and the links below.
struct Tree {
    nodes: BTreeMap<InodeNumber, Node>,
}

impl Tree {
    fn add(&mut self, parent: InodeNumber, name: &str, node: Node) -> InodeNumber {
        let inode = self.nodes.keys().last().expect("the root") + 1;
        self.nodes.insert(inode, node);
        let Some(Node::Directory(entries)) = self.nodes.get_mut(&parent) else {
            panic!("{parent} is no directory");
        };
        entries.insert(name.as_bytes().to_vec(), inode);
        inode
    }

    fn directory(&mut self, parent: InodeNumber, name: &str) -> InodeNumber {
        let inode = self.add(parent, name, Node::Directory(BTreeMap::new()));
        let Some(Node::Directory(entries)) = self.nodes.get_mut(&inode) else {
            unreachable!()
        };
        entries.insert(b".".to_vec(), inode);
        entries.insert(b"..".to_vec(), parent);
        inode
    }

    fn link(&mut self, parent: InodeNumber, name: &str, target: &str) -> InodeNumber {
        self.add(parent, name, Node::Link(target.as_bytes().to_vec()))
    }
}

impl Names for Tree {
    fn lookup_name(&self, dir: InodeNumber, name: &[u8]) -> Result<InodeNumber, Errno> {
        match self.nodes.get(&dir) {
            Some(Node::Directory(entries)) => entries.get(name).copied().ok_or(Errno::ENOENT),
            _ => Err(Errno::ENOTDIR),
        }
    }

    fn file_type(&self, inode: InodeNumber) -> Result<FileType, Errno> {
        Ok(match self.nodes.get(&inode).ok_or(Errno::EIO)? {
            Node::Directory(_) => FileType::Directory,
            Node::File => FileType::Regular,
            Node::Link(_) => FileType::Symlink,
        })
    }

    fn read_link(&self, inode: InodeNumber) -> Result<Vec<u8>, Errno> {
        match self.nodes.get(&inode) {
            Some(Node::Link(target)) => Ok(target.clone()),
            _ => Err(Errno::EINVAL),
        }
    }
}

/// The inodes of the tree's fixed part.
struct Fixture {
    tree: Tree,
    dir: InodeNumber,
    file_in_dir: InodeNumber,
    sub: InodeNumber,
    file: InodeNumber,
}

fn fixture() -> Fixture {
    let mut root = BTreeMap::new();
    root.insert(b".".to_vec(), ROOT_INODE);
    root.insert(b"..".to_vec(), ROOT_INODE);
    let mut tree = Tree {
        nodes: BTreeMap::from([(ROOT_INODE, Node::Directory(root))]),
    };
    let dir = tree.directory(ROOT_INODE, "dir");
    let file_in_dir = tree.add(dir, "file", Node::File);
    let sub = tree.directory(dir, "sub");
    let file = tree.add(ROOT_INODE, "file", Node::File);
    Fixture {
        tree,
        dir,
        file_in_dir,
        sub,
        file,
    }
}

fn resolve(
    tree: &Tree,
    start: InodeNumber,
    path: &str,
    follow: Follow,
) -> Result<InodeNumber, Errno> {
    Walk::new(tree).resolve(start, path.as_bytes(), follow)
}

fn parent(tree: &Tree, start: InodeNumber, path: &str) -> Result<Parent, Errno> {
    Walk::new(tree).parent(start, path.as_bytes())
}

crate::kernel_test!(
    absolute_paths_start_at_the_root_and_relative_ones_where_asked,
    {
        let f = fixture();
        assert_eq!(
            resolve(&f.tree, f.sub, "/dir/file", Follow::Yes),
            Ok(f.file_in_dir)
        );
        assert_eq!(
            resolve(&f.tree, f.dir, "file", Follow::Yes),
            Ok(f.file_in_dir)
        );
        assert_eq!(
            resolve(&f.tree, f.dir, "sub/../file", Follow::Yes),
            Ok(f.file_in_dir)
        );
        assert_eq!(
            resolve(&f.tree, f.sub, "./.././/file", Follow::Yes),
            Ok(f.file_in_dir)
        );
        assert_eq!(resolve(&f.tree, f.dir, "/", Follow::Yes), Ok(ROOT_INODE));
    }
);

crate::kernel_test!(dot_dot_at_the_root_stays_at_the_root, {
    let f = fixture();
    assert_eq!(
        resolve(&f.tree, ROOT_INODE, "../../file", Follow::Yes),
        Ok(f.file)
    );
    assert_eq!(
        resolve(&f.tree, f.sub, "../../../..", Follow::Yes),
        Ok(ROOT_INODE)
    );
});

crate::kernel_test!(
    a_missing_name_is_enoent_and_a_file_walked_through_enotdir,
    {
        let f = fixture();
        assert_eq!(
            resolve(&f.tree, ROOT_INODE, "/missing", Follow::Yes),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            resolve(&f.tree, ROOT_INODE, "/missing/x", Follow::Yes),
            Err(Errno::ENOENT)
        );
        assert_eq!(
            resolve(&f.tree, ROOT_INODE, "/file/x", Follow::Yes),
            Err(Errno::ENOTDIR)
        );
        assert_eq!(
            resolve(&f.tree, ROOT_INODE, "/file/.", Follow::Yes),
            Err(Errno::ENOTDIR)
        );
    }
);

crate::kernel_test!(a_trailing_slash_demands_a_directory, {
    let f = fixture();
    assert_eq!(
        resolve(&f.tree, ROOT_INODE, "/file/", Follow::Yes),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(resolve(&f.tree, ROOT_INODE, "/dir/", Follow::No), Ok(f.dir));
    assert_eq!(
        resolve(&f.tree, ROOT_INODE, "/dir//sub//", Follow::Yes),
        Ok(f.sub)
    );
});

crate::kernel_test!(a_name_over_255_bytes_is_enametoolong, {
    let f = fixture();
    let long = "n".repeat(256);
    let limit = "n".repeat(255);
    assert_eq!(
        resolve(&f.tree, ROOT_INODE, &long, Follow::Yes),
        Err(Errno::ENAMETOOLONG)
    );
    assert_eq!(
        resolve(&f.tree, ROOT_INODE, &limit, Follow::Yes),
        Err(Errno::ENOENT)
    );
    assert_eq!(parent(&f.tree, ROOT_INODE, &long), Err(Errno::ENAMETOOLONG));
});

crate::kernel_test!(symlinks_in_the_middle_are_followed_from_their_directory, {
    let mut f = fixture();
    f.tree.link(ROOT_INODE, "relative", "dir/sub/..");
    f.tree.link(f.sub, "absolute", "/dir");
    f.tree.link(ROOT_INODE, "to-file", "file");
    f.tree.link(ROOT_INODE, "dangling", "nowhere");
    let tree = &f.tree;
    assert_eq!(
        resolve(tree, ROOT_INODE, "/relative/file", Follow::No),
        Ok(f.file_in_dir)
    );
    assert_eq!(
        resolve(tree, f.dir, "sub/absolute/sub", Follow::No),
        Ok(f.sub)
    );
    assert_eq!(
        resolve(tree, ROOT_INODE, "/to-file/x", Follow::No),
        Err(Errno::ENOTDIR)
    );
    assert_eq!(
        resolve(tree, ROOT_INODE, "/dangling/x", Follow::No),
        Err(Errno::ENOENT)
    );
});

crate::kernel_test!(
    the_last_symlink_is_followed_unless_told_not_or_a_slash_follows,
    {
        let mut f = fixture();
        let to_dir = f.tree.link(ROOT_INODE, "to-dir", "dir");
        let to_file = f.tree.link(ROOT_INODE, "to-file", "/file");
        let tree = &f.tree;
        assert_eq!(resolve(tree, ROOT_INODE, "to-dir", Follow::Yes), Ok(f.dir));
        assert_eq!(resolve(tree, ROOT_INODE, "to-dir", Follow::No), Ok(to_dir));
        assert_eq!(resolve(tree, ROOT_INODE, "to-dir/", Follow::No), Ok(f.dir));
        assert_eq!(
            resolve(tree, ROOT_INODE, "to-file", Follow::No),
            Ok(to_file)
        );
        assert_eq!(
            resolve(tree, ROOT_INODE, "to-file", Follow::Yes),
            Ok(f.file)
        );
        assert_eq!(
            resolve(tree, ROOT_INODE, "to-file/", Follow::No),
            Err(Errno::ENOTDIR)
        );
    }
);

crate::kernel_test!(a_followed_link_ending_in_a_slash_must_reach_a_directory, {
    let mut f = fixture();
    f.tree.link(ROOT_INODE, "slash-dir", "dir/");
    f.tree.link(ROOT_INODE, "slash-file", "file/");
    let tree = &f.tree;
    assert_eq!(
        resolve(tree, ROOT_INODE, "slash-dir", Follow::Yes),
        Ok(f.dir)
    );
    assert_eq!(
        resolve(tree, ROOT_INODE, "slash-file", Follow::Yes),
        Err(Errno::ENOTDIR)
    );
});

crate::kernel_test!(forty_symlinks_are_followed_and_the_forty_first_is_eloop, {
    let mut f = fixture();
    f.tree.link(ROOT_INODE, "l0", "file");
    for index in 1..=40 {
        let name = alloc::format!("l{index}");
        let target = alloc::format!("l{}", index - 1);
        f.tree.link(ROOT_INODE, &name, &target);
    }
    f.tree.link(ROOT_INODE, "self", "self");
    let tree = &f.tree;
    assert_eq!(resolve(tree, ROOT_INODE, "l39", Follow::Yes), Ok(f.file));
    assert_eq!(
        resolve(tree, ROOT_INODE, "l40", Follow::Yes),
        Err(Errno::ELOOP)
    );
    assert_eq!(
        resolve(tree, ROOT_INODE, "self", Follow::Yes),
        Err(Errno::ELOOP)
    );
    assert!(resolve(tree, ROOT_INODE, "self", Follow::No).is_ok());
    assert_eq!(
        resolve(tree, ROOT_INODE, "self/x", Follow::No),
        Err(Errno::ELOOP)
    );
});

crate::kernel_test!(
    a_parent_walk_stops_before_the_last_name_and_says_what_it_is,
    {
        let mut f = fixture();
        f.tree.link(ROOT_INODE, "to-dir", "dir");
        let tree = &f.tree;
        let name = |text: &str| Last::Name(text.as_bytes().to_vec());
        let expect = |path: &str, dir: InodeNumber, last: Last, trailing_slash: bool| {
            assert_eq!(
                parent(tree, f.sub, path),
                Ok(Parent {
                    dir,
                    last,
                    trailing_slash
                }),
                "{path}"
            );
        };
        expect("new", f.sub, name("new"), false);
        expect("/to-dir/new/", f.dir, name("new"), true);
        expect("/to-dir", ROOT_INODE, name("to-dir"), false);
        expect("../.", f.dir, Last::Dot, false);
        expect("/dir/..", f.dir, Last::DotDot, false);
        expect("//", ROOT_INODE, Last::Root, true);
        assert_eq!(parent(tree, ROOT_INODE, "/file/new"), Err(Errno::ENOTDIR));
        assert_eq!(parent(tree, ROOT_INODE, "/missing/new"), Err(Errno::ENOENT));
    }
);

crate::kernel_test!(
    a_dangling_link_leads_to_where_its_target_would_be_created,
    {
        let mut f = fixture();
        let dangling = f.tree.link(ROOT_INODE, "dangling", "dir/sub/new");
        let mut walk = Walk::new(&f.tree);
        assert_eq!(
            walk.parent_of_target(ROOT_INODE, dangling),
            Ok(Parent {
                dir: f.sub,
                last: Last::Name(b"new".to_vec()),
                trailing_slash: false,
            })
        );
        for _ in 1..40 {
            walk.parent_of_target(ROOT_INODE, dangling).unwrap();
        }
        assert_eq!(
            walk.parent_of_target(ROOT_INODE, dangling),
            Err(Errno::ELOOP)
        );
    }
);
