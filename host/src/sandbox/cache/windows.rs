//! Windows: the directory's handle and its security descriptor.

use std::fs::File;
use std::os::windows::fs::{MetadataExt, OpenOptionsExt};
use std::os::windows::io::AsRawHandle;
use std::path::Path;

use cap_std::fs::Dir;
use windows_sys::Win32::Foundation::{HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{GetSecurityInfo, SE_FILE_OBJECT};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, DACL_SECURITY_INFORMATION, EqualSid, GetAce, GetTokenInformation,
    IsWellKnownSid, OWNER_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID, TOKEN_OWNER, TOKEN_QUERY, TOKEN_USER,
    TokenOwner, TokenUser, WinBuiltinAdministratorsSid, WinLocalSystemSid,
};
use windows_sys::Win32::Storage::FileSystem::{
    FILE_ATTRIBUTE_REPARSE_POINT, FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_OPEN_REPARSE_POINT, FILE_SHARE_READ,
    FILE_SHARE_WRITE,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

/// Access rights that let their holder change the directory's contents,
/// its attributes or its security.
const WRITE_RIGHTS: u32 = 0x0002 // FILE_WRITE_DATA / FILE_ADD_FILE
    | 0x0004 // FILE_APPEND_DATA / FILE_ADD_SUBDIRECTORY
    | 0x0010 // FILE_WRITE_EA
    | 0x0040 // FILE_DELETE_CHILD
    | 0x0100 // FILE_WRITE_ATTRIBUTES
    | 0x0001_0000 // DELETE
    | 0x0004_0000 // WRITE_DAC
    | 0x0008_0000 // WRITE_OWNER
    | 0x0200_0000 // MAXIMUM_ALLOWED
    | 0x1000_0000 // GENERIC_ALL
    | 0x4000_0000; // GENERIC_WRITE

const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
const INHERIT_ONLY_ACE: u8 = 0x08;
/// The allow-ACE kinds other than the plain one (object, callback,
/// callback-object): their layout differs, so any write right they grant
/// refuses the directory.
const OTHER_ALLOW_ACE_TYPES: [u8; 3] = [5, 9, 11];

pub(super) fn open_trusted_dir(path: &Path) -> Result<File, String> {
    std::fs::create_dir_all(path).map_err(|e| format!("cannot create it ({e})"))?;
    // No FILE_SHARE_DELETE: while this handle is open, neither the
    // directory nor any ancestor can be renamed or removed.
    let dir = std::fs::OpenOptions::new()
        .read(true)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS | FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
        .map_err(|e| format!("cannot open it ({e})"))?;
    let meta = dir.metadata().map_err(|e| format!("cannot inspect it ({e})"))?;
    if meta.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
        return Err("it is a symbolic link or junction".to_string());
    }
    if !meta.is_dir() {
        return Err("it is not a directory".to_string());
    }
    distrust(&dir).map_or(Ok(dir), Err)
}

pub(super) fn open_file_nofollow(dir: &Dir, name: &str) -> std::io::Result<File> {
    let mut options = cap_std::fs::OpenOptions::new();
    options.read(true);
    cap_std::fs::OpenOptionsExt::custom_flags(&mut options, FILE_FLAG_OPEN_REPARSE_POINT);
    Ok(dir.open_with(name, &options)?.into_std())
}

pub(super) fn trusted_file(file: &File) -> bool {
    file.metadata().is_ok_and(|m| m.is_file() && m.file_attributes() & FILE_ATTRIBUTE_REPARSE_POINT == 0)
        && distrust(file).is_none()
}

/// Why the object behind `file` cannot be trusted, if it cannot: its
/// owner is not this user, or its DACL lets someone else write.
fn distrust(file: &File) -> Option<String> {
    let Some(token) = Token::current() else {
        return Some("the current user cannot be determined".to_string());
    };
    let Some(sd) = Security::of(file) else {
        return Some("its security descriptor cannot be read".to_string());
    };
    if !token.is_me(sd.owner) {
        return Some("it is not owned by this user".to_string());
    }
    if sd.dacl.is_null() {
        return Some("it has no access list: everyone may write to it".to_string());
    }
    // SAFETY: `sd.dacl` points into the security descriptor that `sd`
    // owns and keeps alive; `GetAce` bounds-checks the index against the
    // ACL's own count and returns pointers inside it.
    #[allow(unsafe_code, reason = "walks the DACL Win32 returned; see SAFETY")]
    unsafe {
        let count = (*sd.dacl).AceCount;
        for i in 0..u32::from(count) {
            let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
            if GetAce(sd.dacl, i, &mut ace) == 0 || ace.is_null() {
                return Some("its access list cannot be read".to_string());
            }
            let header = *(ace as *const ACE_HEADER);
            if header.AceFlags & INHERIT_ONLY_ACE != 0 {
                continue;
            }
            if header.AceType == ACCESS_ALLOWED_ACE_TYPE {
                let allowed = ace as *const ACCESS_ALLOWED_ACE;
                let sid = std::ptr::addr_of!((*allowed).SidStart) as PSID;
                let trusted = token.is_me(sid)
                    || IsWellKnownSid(sid, WinLocalSystemSid) != 0
                    || IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0;
                if (*allowed).Mask & WRITE_RIGHTS != 0 && !trusted {
                    return Some("it is writable by others".to_string());
                }
            } else if OTHER_ALLOW_ACE_TYPES.contains(&header.AceType) {
                // Mask follows the header in every allow-ACE layout.
                let mask = *((ace as *const u8).add(size_of::<ACE_HEADER>()) as *const u32);
                if mask & WRITE_RIGHTS != 0 {
                    return Some("its access list grants write access in a form not checked here".to_string());
                }
            }
        }
    }
    None
}

/// The owner and DACL of an object, in a buffer freed on drop.
struct Security {
    owner: PSID,
    dacl: *mut ACL,
    descriptor: PSECURITY_DESCRIPTOR,
}

impl Security {
    fn of(file: &File) -> Option<Security> {
        let mut owner: PSID = std::ptr::null_mut();
        let mut dacl: *mut ACL = std::ptr::null_mut();
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: the handle is open for the duration of the call; the
        // out-pointers are valid; on success the owner and DACL point into
        // `descriptor`, which `Security` frees with `LocalFree`.
        #[allow(unsafe_code, reason = "GetSecurityInfo, a Win32 call; see SAFETY")]
        let status = unsafe {
            GetSecurityInfo(
                file.as_raw_handle() as HANDLE,
                SE_FILE_OBJECT,
                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                &mut owner,
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut descriptor,
            )
        };
        (status == 0 && !descriptor.is_null() && !owner.is_null()).then_some(Security { owner, dacl, descriptor })
    }
}

impl Drop for Security {
    fn drop(&mut self) {
        // SAFETY: `descriptor` was allocated by `GetSecurityInfo` and is
        // freed once.
        #[allow(unsafe_code, reason = "frees what GetSecurityInfo allocated")]
        unsafe {
            LocalFree(self.descriptor);
        }
    }
}

/// The SIDs of the current process's user and of the owner it gives new
/// objects (an administrator's may be the Administrators group).
struct Token {
    user: Vec<u32>,
    owner: Vec<u32>,
}

impl Token {
    fn current() -> Option<Token> {
        // SAFETY: plain Win32 calls with valid out-pointers and buffers
        // of the size the system asked for; the token handle is closed
        // by wrapping it in an `OwnedHandle`.
        #[allow(unsafe_code, reason = "reads this process token's user, Win32 calls; see SAFETY")]
        unsafe {
            use std::os::windows::io::{FromRawHandle, OwnedHandle};
            let mut raw: HANDLE = std::ptr::null_mut();
            if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut raw) == 0 {
                return None;
            }
            let token = OwnedHandle::from_raw_handle(raw as _);
            // The buffer is returned whole (u64 words: it holds
            // pointers, so it must be aligned for them), because the
            // SID pointer in the structure points into it.
            let query = |class| -> Option<Vec<u64>> {
                let mut len = 0u32;
                GetTokenInformation(token.as_raw_handle() as HANDLE, class, std::ptr::null_mut(), 0, &mut len);
                if len == 0 {
                    return None;
                }
                let mut buf = vec![0u64; (len as usize).div_ceil(8)];
                (GetTokenInformation(token.as_raw_handle() as HANDLE, class, buf.as_mut_ptr().cast(), len, &mut len)
                    != 0)
                    .then_some(buf)
            };
            let user_info = query(TokenUser)?;
            let owner_info = query(TokenOwner)?;
            // Copied while `user_info` and `owner_info` are alive.
            let user = copy_sid((*(user_info.as_ptr() as *const TOKEN_USER)).User.Sid);
            let owner = copy_sid((*(owner_info.as_ptr() as *const TOKEN_OWNER)).Owner);
            Some(Token { user, owner })
        }
    }

    /// Whether `sid` is this user: the token's user, or the
    /// Administrators group when the token gives new objects to it (an
    /// elevated administrator's do). Any other default owner the token
    /// names (Wine names a group every user is in) is not trusted.
    fn is_me(&self, sid: PSID) -> bool {
        // SAFETY: both SIDs are valid for the call: `sid` points into a
        // live descriptor or ACL, ours into owned buffers.
        #[allow(unsafe_code, reason = "EqualSid, a Win32 call; see SAFETY")]
        unsafe {
            EqualSid(sid, self.user.as_ptr() as PSID) != 0
                || (EqualSid(sid, self.owner.as_ptr() as PSID) != 0
                    && IsWellKnownSid(sid, WinBuiltinAdministratorsSid) != 0)
        }
    }
}

/// Copies a SID out of a buffer that is about to be freed.
///
/// # Safety
///
/// `sid` must point to a valid SID.
#[allow(unsafe_code, reason = "copies a SID the caller vouches for; see # Safety")]
unsafe fn copy_sid(sid: PSID) -> Vec<u32> {
    // A SID is 8 bytes plus 4 per sub-authority (count at offset 1),
    // copied into u32 words so the copy is aligned as a SID is.
    // SAFETY: the caller guarantees a valid SID, whose length follows
    // from its sub-authority count; the copy writes `words * 4` bytes
    // into a buffer of exactly that size.
    unsafe {
        let count = *(sid as *const u8).add(1) as usize;
        let words = 2 + count;
        let mut copy = vec![0u32; words];
        std::ptr::copy_nonoverlapping(sid as *const u8, copy.as_mut_ptr().cast::<u8>(), words * 4);
        copy
    }
}
