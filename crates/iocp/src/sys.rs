//! One wrapper per Windows call: the completion port, the AFD device and its poll request,
//! Winsock's base-handle ioctl. Handles go into `OwnedHandle` at once; `NTSTATUS` and Win32
//! failures become `io::Error`s.

use std::cell::Cell;
use std::io;
use std::mem::size_of;
use std::os::windows::io::{FromRawHandle, OwnedHandle, RawSocket};
use std::ptr;

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::{FILE_OPEN, NtCancelIoFileEx, NtCreateFile};
use windows_sys::Wdk::System::IO::NtDeviceIoControlFile;
use windows_sys::Win32::Foundation::{
    FALSE, HANDLE, INVALID_HANDLE_VALUE, NTSTATUS, RtlNtStatusToDosError, STATUS_NOT_FOUND,
    STATUS_PENDING, STATUS_SUCCESS, UNICODE_STRING, WAIT_TIMEOUT,
};
use windows_sys::Win32::Networking::WinSock::{
    SIO_BASE_HANDLE, SIO_BSP_HANDLE_POLL, SOCKET_ERROR, WSAGetLastError, WSAIoctl,
};
use windows_sys::Win32::Storage::FileSystem::{FILE_SHARE_READ, FILE_SHARE_WRITE, SYNCHRONIZE};
use windows_sys::Win32::System::IO::{
    CreateIoCompletionPort, GetQueuedCompletionStatusEx, IO_STATUS_BLOCK, IO_STATUS_BLOCK_0,
    OVERLAPPED_ENTRY, PostQueuedCompletionStatus,
};

use crate::afd::PollInfo;

/// `IOCTL_AFD_POLL`: not in any public header; the value wepoll, mio and polling use.
const IOCTL_AFD_POLL: u32 = 0x0001_2024;

/// An `NTSTATUS` that failed, as the Win32 error it stands for.
fn nt_error(status: NTSTATUS) -> io::Error {
    // SAFETY: a pure conversion of a number; no memory is passed.
    let code = unsafe { RtlNtStatusToDosError(status) };
    io::Error::from_raw_os_error(code as i32)
}

/// One poll request's memory, written by the kernel while the request is in flight: the
/// `IO_STATUS_BLOCK` (whose address is also the completion's `lpOverlapped`) and the
/// `AFD_POLL_INFO`, in `Cell`s because the kernel writes them behind Rust's back. It must
/// not move or be freed until the request's completion has been dequeued from the port.
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Request {
    status: Cell<IoStatus>,
    info: Cell<PollInfo>,
}

/// `IO_STATUS_BLOCK` with `Debug`.
#[repr(transparent)]
#[derive(Clone, Copy)]
struct IoStatus(IO_STATUS_BLOCK);

// SAFETY: the block holds a status and a byte count; its union's pointer member is never
// used as a pointer here (AFD writes a status), so moving it to another thread moves numbers.
unsafe impl Send for IoStatus {}

impl std::fmt::Debug for IoStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // SAFETY: both union fields are plain integers of the same size; any bits are valid.
        let status = unsafe { self.0.Anonymous.Status };
        f.debug_struct("IO_STATUS_BLOCK").field("Status", &status).finish()
    }
}

/// A zeroed `IO_STATUS_BLOCK`.
fn blank_iosb() -> IO_STATUS_BLOCK {
    IO_STATUS_BLOCK { Anonymous: IO_STATUS_BLOCK_0 { Status: 0 }, Information: 0 }
}

impl Request {
    /// A request that has not been submitted, on the heap, where it stays put.
    pub(crate) fn new() -> Box<Request> {
        let status = Cell::new(IoStatus(blank_iosb()));
        Box::new(Request { status, info: Cell::new(PollInfo::default()) })
    }

    /// The address the port hands back as the completion's `lpOverlapped`.
    pub(crate) fn address(&self) -> usize {
        self.status.as_ptr() as usize
    }

    /// The final status of the request (read once its completion was dequeued).
    pub(crate) fn status(&self) -> NTSTATUS {
        let status = self.status.get();
        // SAFETY: both union fields are plain integers of the same size; any bits are valid.
        unsafe { status.0.Anonymous.Status }
    }

    /// What the kernel wrote back (read once its completion was dequeued).
    pub(crate) fn info(&self) -> PollInfo {
        self.info.get()
    }
}

/// `CreateIoCompletionPort` with no file: a new port.
pub(crate) fn create_port() -> io::Result<OwnedHandle> {
    // SAFETY: no file handle is passed (INVALID_HANDLE_VALUE asks for a new port).
    let port = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, ptr::null_mut(), 0, 0) };
    if port.is_null() {
        return Err(io::Error::other(format!(
            "CreateIoCompletionPort: {}",
            io::Error::last_os_error()
        )));
    }
    // SAFETY: the call returned a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(port) })
}

/// `CreateIoCompletionPort(handle, port, key)`: completions of `handle` go to `port`.
pub(crate) fn associate(port: HANDLE, handle: HANDLE, key: usize) -> io::Result<()> {
    // SAFETY: both handles are open (borrowed from `OwnedHandle`s by the caller).
    let result = unsafe { CreateIoCompletionPort(handle, port, key, 0) };
    if result.is_null() {
        return Err(io::Error::other(format!(
            "CreateIoCompletionPort (associating the AFD handle): {}",
            io::Error::last_os_error()
        )));
    }
    Ok(())
}

/// `NtCreateFile` of `\Device\Afd\Multipoll`: a handle to the AFD driver, through which
/// sockets are polled (the name after `Afd\` is free; the driver ignores it).
pub(crate) fn open_afd() -> io::Result<OwnedHandle> {
    let name: Vec<u16> = r"\Device\Afd\Multipoll".encode_utf16().collect();
    let bytes = (name.len() * 2) as u16;
    let name = UNICODE_STRING { Length: bytes, MaximumLength: bytes, Buffer: name.as_ptr() as _ };
    let attributes = OBJECT_ATTRIBUTES {
        Length: size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: ptr::null_mut(),
        ObjectName: &name,
        Attributes: 0,
        SecurityDescriptor: ptr::null(),
        SecurityQualityOfService: ptr::null(),
    };
    let mut handle: HANDLE = ptr::null_mut();
    let mut iosb = blank_iosb();
    // SAFETY: every pointer is to a live local (and `name`'s buffer) that outlives the
    // call, which writes `handle` and `iosb` before it returns.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            SYNCHRONIZE,
            &attributes,
            &mut iosb,
            ptr::null(),
            0,
            FILE_SHARE_READ | FILE_SHARE_WRITE,
            FILE_OPEN,
            0,
            ptr::null(),
            0,
        )
    };
    if status != STATUS_SUCCESS {
        let e = nt_error(status);
        return Err(io::Error::new(e.kind(), format!(r"NtCreateFile(\Device\Afd): {e}")));
    }
    // SAFETY: the call succeeded and returned a new handle that nothing else owns.
    Ok(unsafe { OwnedHandle::from_raw_handle(handle) })
}

/// `WSAIoctl(socket, ioctl)` for an ioctl that returns a socket handle.
fn socket_ioctl(socket: RawSocket, ioctl: u32) -> Result<RawSocket, i32> {
    let mut out: RawSocket = 0;
    let mut returned = 0u32;
    // SAFETY: `out` and `returned` are live locals the call writes; no overlapped, no
    // completion routine, so the call is synchronous.
    let result = unsafe {
        WSAIoctl(
            socket as _,
            ioctl,
            ptr::null(),
            0,
            ptr::from_mut(&mut out).cast(),
            size_of::<RawSocket>() as u32,
            &mut returned,
            ptr::null_mut(),
            None,
        )
    };
    if result == SOCKET_ERROR {
        // SAFETY: reads this thread's last Winsock error; no memory is passed.
        return Err(unsafe { WSAGetLastError() });
    }
    Ok(out)
}

/// The base service provider's handle of `socket`, the one AFD polls: `SIO_BASE_HANDLE`,
/// and where a layered provider refuses it, `SIO_BSP_HANDLE_POLL` and then
/// `SIO_BASE_HANDLE` on its answer (as wepoll does).
pub(crate) fn base_socket(socket: RawSocket) -> io::Result<RawSocket> {
    let first = match socket_ioctl(socket, SIO_BASE_HANDLE) {
        Ok(base) => return Ok(base),
        Err(code) => code,
    };
    let fallback = socket_ioctl(socket, SIO_BSP_HANDLE_POLL).and_then(|bsp| {
        if bsp == socket { Err(first) } else { socket_ioctl(bsp, SIO_BASE_HANDLE) }
    });
    fallback.map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "socket {socket} cannot be polled: WSAIoctl(SIO_BASE_HANDLE) failed ({}); \
                 only open sockets can be registered on Windows",
                io::Error::from_raw_os_error(first)
            ),
        )
    })
}

/// `NtDeviceIoControlFile(afd, IOCTL_AFD_POLL)` for `base` and the AFD event `mask`, into
/// `request`. `Ok` means a completion will be queued to the port `afd` is associated with
/// (at once if the socket is ready, else when it becomes so, or when cancelled); an error
/// means none will.
///
/// # Safety
/// `request` must stay allocated, and not move, until that completion is dequeued.
pub(crate) unsafe fn afd_poll(
    afd: HANDLE,
    request: &Request,
    base: RawSocket,
    mask: u32,
) -> io::Result<()> {
    request.info.set(PollInfo::new(base, mask));
    let iosb = request.status.as_ptr().cast::<IO_STATUS_BLOCK>();
    let info = request.info.as_ptr();
    // SAFETY: `iosb` and `info` point into `request`, which the caller keeps in place until
    // the completion; the kernel reads and writes `size_of::<PollInfo>()` bytes of `info`.
    // The APC context is the `lpOverlapped` the port will hand back.
    let status = unsafe {
        NtDeviceIoControlFile(
            afd,
            ptr::null_mut(),
            None,
            iosb.cast(),
            iosb,
            IOCTL_AFD_POLL,
            info.cast(),
            size_of::<PollInfo>() as u32,
            info.cast(),
            size_of::<PollInfo>() as u32,
        )
    };
    match status {
        STATUS_SUCCESS | STATUS_PENDING => Ok(()),
        status => {
            let e = nt_error(status);
            Err(io::Error::new(
                e.kind(),
                format!("socket {base}: NtDeviceIoControlFile(IOCTL_AFD_POLL): {e}"),
            ))
        }
    }
}

/// `NtCancelIoFileEx(afd, request)`: asks the kernel to complete `request` now, with
/// `STATUS_CANCELLED` unless it completed already. Its completion still arrives through
/// the port. A request that already completed (`STATUS_NOT_FOUND`) is not an error.
pub(crate) fn cancel(afd: HANDLE, request: &Request) -> io::Result<()> {
    let mut iosb = blank_iosb();
    let target = request.status.as_ptr().cast::<IO_STATUS_BLOCK>();
    // SAFETY: `target` only identifies the request (the kernel compares addresses); `iosb`
    // is a live local.
    let status = unsafe { NtCancelIoFileEx(afd, target, &mut iosb) };
    match status {
        STATUS_SUCCESS | STATUS_NOT_FOUND => Ok(()),
        status => Err(io::Error::other(format!("NtCancelIoFileEx: {}", nt_error(status)))),
    }
}

/// An entry of the array `GetQueuedCompletionStatusEx` fills, before it does.
pub(crate) const BLANK: OVERLAPPED_ENTRY = OVERLAPPED_ENTRY {
    lpCompletionKey: 0,
    lpOverlapped: ptr::null_mut(),
    Internal: 0,
    dwNumberOfBytesTransferred: 0,
};

/// `GetQueuedCompletionStatusEx` into `entries`, waiting up to `timeout_ms` (`u32::MAX`:
/// no limit); returns how many entries were filled (0 on a timeout).
pub(crate) fn dequeue(
    port: HANDLE,
    entries: &mut [OVERLAPPED_ENTRY],
    timeout_ms: u32,
) -> io::Result<usize> {
    let max = entries.len().min(u32::MAX as usize) as u32;
    let mut removed = 0u32;
    // SAFETY: the kernel writes at most `max` entries into `entries`, which holds that many,
    // and the count into `removed`; not alertable, so no APC runs inside.
    let ok = unsafe {
        GetQueuedCompletionStatusEx(
            port,
            entries.as_mut_ptr(),
            max,
            &mut removed,
            timeout_ms,
            FALSE,
        )
    };
    if ok == FALSE {
        let e = io::Error::last_os_error();
        if e.raw_os_error() == Some(WAIT_TIMEOUT as i32) {
            return Ok(0);
        }
        return Err(io::Error::new(e.kind(), format!("GetQueuedCompletionStatusEx: {e}")));
    }
    Ok(removed as usize)
}

/// `PostQueuedCompletionStatus(port, key)` with no overlapped: a completion of our own.
pub(crate) fn post(port: HANDLE, key: usize) -> io::Result<()> {
    // SAFETY: no overlapped pointer is passed; the port only queues the key.
    let ok = unsafe { PostQueuedCompletionStatus(port, 0, key, ptr::null()) };
    if ok == FALSE {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("PostQueuedCompletionStatus: {e}")));
    }
    Ok(())
}
